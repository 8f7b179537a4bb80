// The web chat: plain DOM, no framework, no build step. Text is always inserted with
// textContent, never innerHTML, so HTML in a message (a user's or the assistant's) is shown,
// never run. The assistant's answers arrive as `rich` (bot/presentation.py rich_json): runs of
// text and labelled links, lists, a "More" part and cards; a message without it (history
// stored before it existed) is shown as plain text.
(function () {
  "use strict";
  var WEBHOOK = "webhook";
  var SLOW_DOWN = "You're sending messages quickly; please wait a few seconds and try again.";
  var SENDER_KEY = "ecrin-chat-sender";
  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("message");
  var typing = document.getElementById("typing");
  var download = document.getElementById("download");

  // Mirrors bot/feedback.py (SOURCE_LINK, the payloads and their emoji; the Python is
  // the reference, tests/test_feedback.py checks they agree): an answer is a bot message that
  // cites its source, and only answers get "Was this helpful?".
  var SOURCE_LINK = /Learn more: https?:\/\/\S/;
  var RATINGS = [
    { payload: "/feedback_positive", emoji: "👍", label: "Helpful" },
    { payload: "/feedback_negative", emoji: "👎", label: "Not helpful" }
  ];
  var feedbackCount = 0;
  var cardCount = 0;
  var latestFeedback = null;  // only the latest answer can be rated
  var latestBotMessage = null;  // where an answer's calendar links go

  // --- Embedding options (embed.js passes its data- attributes in the query string) --------

  var HEX_COLOUR = /^#(?:[0-9a-fA-F]{3}){1,2}$/;
  var MAX_TITLE = 80;

  function rgb(hex) {
    var digits = hex.slice(1);
    if (digits.length === 3) { digits = digits.replace(/./g, "$&$&"); }
    return [0, 2, 4].map(function (at) { return parseInt(digits.slice(at, at + 2), 16) / 255; });
  }

  // WCAG 2 relative luminance and contrast ratio: an embedder's colours are used only where
  // text on them stays readable (4.5:1), so a site's pale brand colour cannot make the chat
  // unreadable.
  function luminance(hex) {
    var c = rgb(hex).map(function (v) {
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function applyOptions(params) {
    var title = (params.get("title") || "").trim().slice(0, MAX_TITLE);
    if (title) {
      document.getElementById("chat-title").textContent = title;
      document.title = title;
    }
    var colour = params.get("color") || "";
    if (!HEX_COLOUR.test(colour)) { return; }
    var root = document.documentElement.style;
    var text = params.get("text-color") || "";
    if (!HEX_COLOUR.test(text) || contrast(colour, text) < 4.5) {
      text = contrast(colour, "#ffffff") >= contrast(colour, "#000000") ? "#ffffff" : "#000000";
    }
    root.setProperty("--brand", colour);
    root.setProperty("--on-brand", text);
    // Headings, links and chips use the colour as text on white only where it is readable.
    if (contrast(colour, "#ffffff") >= 4.5) { root.setProperty("--accent", colour); }
  }

  applyOptions(new URLSearchParams(window.location.search));

  // --- Text size: on top of the browser's own setting (every size is in rem), kept --------

  var TEXT_SIZE_KEY = "ecrin-chat-text-size";
  var TEXT_SIZES = [100, 112.5, 125, 150, 175, 200];  // per cent of the browser's size
  var smaller = document.getElementById("text-smaller");
  var larger = document.getElementById("text-larger");

  function setTextSize(index) {
    var size = Math.max(0, Math.min(TEXT_SIZES.length - 1, index));
    document.documentElement.style.fontSize = TEXT_SIZES[size] + "%";
    smaller.disabled = size === 0;
    larger.disabled = size === TEXT_SIZES.length - 1;
    try { localStorage.setItem(TEXT_SIZE_KEY, String(TEXT_SIZES[size])); } catch (error) { /* kept for this page only */ }
    return size;
  }

  var textSize = setTextSize(Math.max(0, TEXT_SIZES.indexOf(Number(localStorage.getItem(TEXT_SIZE_KEY)))));
  smaller.addEventListener("click", function () { textSize = setTextSize(textSize - 1); });
  larger.addEventListener("click", function () { textSize = setTextSize(textSize + 1); });

  // --- The language of the answers: "Automatic" (the server detects it, the browser's
  // Accept-Language as a first guess) or one the user chose, kept for this browser ---------
  // The list comes from data/languages.yml (GET languages). A choice travels with every
  // message as metadata `language`; "auto" takes an earlier choice back. Until the user
  // picks one, nothing is sent and the server decides.

  var LANGUAGE_KEY = "ecrin-chat-language";
  var AUTOMATIC = "auto";
  var languageSelect = document.getElementById("language");

  function storedLanguage() {
    try { return localStorage.getItem(LANGUAGE_KEY) || ""; } catch (error) { return ""; }
  }

  var chosenLanguage = storedLanguage();

  function showLanguages(offered) {
    var known = {};
    known[AUTOMATIC] = true;
    (Array.isArray(offered.languages) ? offered.languages : []).forEach(function (language) {
      if (!language || typeof language.code !== "string" || typeof language.name !== "string") {
        return;
      }
      var option = element("option", "", language.name);
      option.value = language.code;
      option.lang = language.code;  // each name is in its own language
      languageSelect.appendChild(option);
      known[language.code] = true;
    });
    // A language no longer offered falls back to Automatic.
    if (chosenLanguage && !known[chosenLanguage]) { setLanguage(AUTOMATIC); }
    languageSelect.value = chosenLanguage || AUTOMATIC;
  }

  function setLanguage(code) {
    chosenLanguage = code;
    try { localStorage.setItem(LANGUAGE_KEY, code); } catch (error) { /* kept for this page only */ }
  }

  languageSelect.addEventListener("change", function () {
    setLanguage(languageSelect.value);
    // Nothing asked yet, only the welcome on screen: shown again in the new language.
    if (log.querySelector(".msg--welcome") && !log.querySelector(".msg--user")) {
      log.textContent = "";
      latestBotMessage = null;
      showWelcome();
    }
  });
  fetch("languages")
    .then(function (response) { return response.ok ? response.json() : null; })
    .then(function (offered) { if (offered) { showLanguages(offered); } })
    .catch(function () { /* Automatic only: the server still detects the language */ });

  // --- The conversation's id --------------------------------------------------------------

  function newSender() {
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
    localStorage.setItem(SENDER_KEY, id);
    return id;
  }
  var sender = localStorage.getItem(SENDER_KEY) || newSender();

  function setSender(id) {
    sender = id;
    download.href = "transcript?sender=" + encodeURIComponent(sender);
  }
  setSender(sender);

  function setState(state) {
    log.setAttribute("data-state", state);
  }

  // --- Plain text (old history, the user's own messages) -----------------------------------

  function isWebAddress(url) {
    return typeof url === "string" && /^https?:\/\/[^\s]+$/.test(url);
  }

  function externalLink(url, label) {
    var link = document.createElement("a");
    link.href = url;
    link.textContent = label;
    link.title = url;
    link.target = "_blank";
    link.rel = "noopener noreferrer";
    return link;
  }

  // Turns URLs into links without ever parsing HTML.
  function appendPlain(parent, text) {
    var urlPattern = /https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?]/g;
    var last = 0, match;
    while ((match = urlPattern.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      parent.appendChild(externalLink(match[0], match[0]));
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  // --- Rich answers ------------------------------------------------------------------------

  function element(tag, className, text) {
    var node = document.createElement(tag);
    if (className) { node.className = className; }
    if (text !== undefined) { node.textContent = text; }
    return node;
  }

  function appendRuns(parent, runs) {
    (Array.isArray(runs) ? runs : []).forEach(function (run) {
      if (!run || typeof run !== "object") { return; }
      if (isWebAddress(run.url) && typeof run.label === "string" && run.label) {
        parent.appendChild(externalLink(run.url, run.label));
      } else if (typeof run.text === "string") {
        parent.appendChild(document.createTextNode(run.text));
      }
    });
  }

  function appendBlocks(parent, blocks) {
    (Array.isArray(blocks) ? blocks : []).forEach(function (block) {
      if (!block || typeof block !== "object") { return; }
      if (block.type === "list" && Array.isArray(block.items)) {
        var list = element("ul", "msg__list");
        block.items.forEach(function (runs) {
          var item = element("li");
          appendRuns(item, runs);
          list.appendChild(item);
        });
        parent.appendChild(list);
      } else if (block.type === "paragraph") {
        var paragraph = element("p", "msg__para");
        appendRuns(paragraph, block.runs);
        parent.appendChild(paragraph);
      }
    });
  }

  // A date from an ISO "YYYY-MM-DD" (a date, not an instant: read and shown in UTC, so it is
  // the same day in every time zone).
  function isoDate(value) {
    var match = /^(\d{4})-(\d{2})-(\d{2})/.exec(typeof value === "string" ? value : "");
    return match ? new Date(Date.UTC(+match[1], +match[2] - 1, +match[3])) : null;
  }

  function formatter(options) {
    var settings = { timeZone: "UTC" };
    Object.keys(options).forEach(function (key) { settings[key] = options[key]; });
    // Dates in the language the user chose for the answers, else the browser's.
    var locale = chosenLanguage && chosenLanguage !== AUTOMATIC ? chosenLanguage : navigator.language;
    try {
      return new Intl.DateTimeFormat(locale, settings);
    } catch (error) {  // an unknown language tag: the browser's default
      return new Intl.DateTimeFormat(undefined, settings);
    }
  }

  var LONG_DATE = { weekday: "long", day: "numeric", month: "long", year: "numeric" };

  function whenText(card, start) {
    var end = isoDate(card.ends_on);
    var parts = [];
    if (end && end.getTime() !== start.getTime()) {
      var long = formatter(LONG_DATE);
      parts.push(long.formatRange ? long.formatRange(start, end)
        : long.format(start) + " – " + long.format(end));
    } else {
      parts.push(formatter(LONG_DATE).format(start));
    }
    if (typeof card.time_label === "string" && card.time_label) { parts.push(card.time_label); }
    if (card.yearly) { parts.push("every year"); }
    return parts.join(", ");
  }

  var CALENDAR_URL = /^events\/[A-Za-z0-9][A-Za-z0-9_.-]*\.ics$/;
  var ATTENDANCE = { online: "Online", hybrid: "Hybrid", "in person": "In person" };

  function linkOf(value) {
    return value && isWebAddress(value.url) && typeof value.label === "string" && value.label
      ? externalLink(value.url, value.label) : null;
  }

  function cardShell(kind, title) {
    var card = element("article", "card card--" + kind);
    var heading = element("h2", "card__title", title);
    heading.id = "card-" + (++cardCount);
    card.setAttribute("aria-labelledby", heading.id);
    return { card: card, heading: heading };
  }

  function eventCard(data) {
    var shell = cardShell("event", String(data.title || "Event"));
    var card = shell.card;
    var start = isoDate(data.starts_on);
    if (start) {
      var badge = element("time", "card__badge");
      badge.setAttribute("datetime", data.starts_on.slice(0, 10));
      badge.appendChild(element("span", "card__day", formatter({ day: "numeric" }).format(start)));
      badge.appendChild(element("span", "card__month",
        formatter({ month: "short", year: "numeric" }).format(start)));
      card.appendChild(badge);
    }
    var body = element("div", "card__body");
    body.appendChild(shell.heading);
    if (start) { body.appendChild(element("p", "card__when", whenText(data, start))); }
    var where = [];
    var attendance = ATTENDANCE[data.attendance];
    if (attendance && attendance !== "In person") { where.push(attendance); }
    if (typeof data.place === "string" && data.place) { where.push(data.place); }
    if (!where.length && attendance) { where.push(attendance); }
    if (where.length) { body.appendChild(element("p", "card__where", where.join(" · "))); }
    if (typeof data.audience === "string" && data.audience) {
      body.appendChild(element("p", "card__audience", "For " + data.audience));
    }
    var links = element("p", "card__links");
    var more = linkOf(data.link) || (isWebAddress(data.url)
      ? externalLink(data.url, "Read more about this event") : null);
    if (more) { links.appendChild(more); }
    if (CALENDAR_URL.test(String(data.calendar_url))) {
      var calendar = element("a", "card__calendar", "Add to calendar");
      calendar.href = data.calendar_url;
      calendar.setAttribute("aria-label", "Add to calendar: " + String(data.title || "event"));
      links.appendChild(calendar);
    }
    if (links.childNodes.length) { body.appendChild(links); }
    card.appendChild(body);
    return card;
  }

  function partnerCard(data) {
    var shell = cardShell("partner", String(data.name || "Partner"));
    var card = shell.card;
    var body = element("div", "card__body");
    body.appendChild(shell.heading);
    var place = [data.city, data.country].filter(function (part) {
      return typeof part === "string" && part;
    });
    if (place.length) { body.appendChild(element("p", "card__where", place.join(", "))); }
    var links = element("p", "card__links");
    [linkOf(data.website), linkOf(data.contact)].forEach(function (link) {
      if (link) { links.appendChild(link); }
    });
    if (links.childNodes.length) { body.appendChild(links); }
    card.appendChild(body);
    return card;
  }

  function appendCards(parent, cards) {
    var made = (Array.isArray(cards) ? cards : []).map(function (data) {
      if (!data || typeof data !== "object") { return null; }
      if (data.type === "event") { return eventCard(data); }
      if (data.type === "partner") { return partnerCard(data); }
      return null;
    }).filter(Boolean);
    if (!made.length) { return false; }
    var list = element("ul", "cards");
    made.forEach(function (card) {
      var item = element("li");
      item.appendChild(card);
      list.appendChild(item);
    });
    parent.appendChild(list);
    return true;
  }

  function isRich(rich) {
    return rich && typeof rich === "object" && Array.isArray(rich.lead);
  }

  // Returns whether the message shows cards (then the old calendar list is not added).
  function appendRich(parent, rich) {
    appendBlocks(parent, rich.lead);
    if (Array.isArray(rich.more) && rich.more.length) {
      var more = element("details", "msg__more");
      more.appendChild(element("summary", "", "More"));
      appendBlocks(more, rich.more);
      parent.appendChild(more);
    }
    // The cards, then the source the answer cites: last, as on every answer.
    var hasCards = appendCards(parent, rich.cards);
    var source = linkOf(rich.source);
    if (source) {
      var line = element("p", "msg__source");
      line.appendChild(source);
      parent.appendChild(line);
    }
    if (hasCards) { parent.classList.add("msg--cards"); }
    return hasCards;
  }

  // --- The log -----------------------------------------------------------------------------

  function addMessage(who, text, rich) {
    var item = document.createElement("li");
    item.className = "msg msg--" + who;
    var label = element("span", "visually-hidden", who === "bot" ? "Assistant: " : "You: ");
    item.appendChild(label);
    var hasCards = false;
    if (who === "bot" && isRich(rich)) {
      item.classList.add("msg--rich");
      hasCards = appendRich(item, rich);
    } else {
      appendPlain(item, text || "");
    }
    log.appendChild(item);
    if (who === "bot") { latestBotMessage = item; }
    item.scrollIntoView({ block: "end" });
    return hasCards;
  }

  // Suggestions and buttons: a list in an entry of the log (a list holds only entries).
  function addButtons(buttons, disabled) {
    var row = element("li", "chips-row");
    var list = element("ul", "chips");
    buttons.forEach(function (button) {
      var entry = document.createElement("li");
      var chip = document.createElement("button");
      chip.type = "button";
      chip.textContent = button.title;
      chip.addEventListener("click", function () {
        row.remove();
        send(button.payload, button.title);
      });
      if (disabled) { chip.disabled = true; }
      entry.appendChild(chip);
      list.appendChild(entry);
    });
    row.appendChild(list);
    log.appendChild(row);
  }

  // The server says whether a message is an answer (`answer`, in every language the
  // assistant speaks); the pattern is the fallback for a message without the field.
  function isAnswer(entry) {
    if (typeof entry.answer === "boolean") { return entry.answer; }
    return SOURCE_LINK.test(entry.text || "");
  }

  // "Was this helpful?" and two toggle buttons, under an answer. A rating is sent like a
  // chip click (its emoji is what the transcript shows); afterwards the control only says
  // which rating was given.
  function addFeedback() {
    if (latestFeedback) { latestFeedback.close(); }
    var entry = element("li", "feedback-row");
    var item = element("div", "feedback");
    item.setAttribute("role", "group");
    var question = document.createElement("span");
    question.id = "feedback-" + (++feedbackCount);
    question.textContent = "Was this helpful?";
    item.setAttribute("aria-labelledby", question.id);
    item.appendChild(question);
    entry.appendChild(item);
    var control = {
      close: function () {
        buttons.forEach(function (button) { button.disabled = true; });
      },
      reopen: function () {
        question.textContent = "Was this helpful?";
        buttons.forEach(function (button) {
          button.disabled = false;
          button.setAttribute("aria-pressed", "false");
        });
      },
      rated: function (payload) {
        question.textContent = "Thanks for your feedback";
        buttons.forEach(function (button, index) {
          button.disabled = true;
          button.setAttribute("aria-pressed", String(RATINGS[index].payload === payload));
        });
      }
    };
    var buttons = RATINGS.map(function (rating) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = rating.emoji;
      button.setAttribute("aria-label", rating.label);
      button.setAttribute("aria-pressed", "false");
      button.addEventListener("click", function () {
        control.rated(rating.payload);
        send(rating.payload, rating.emoji).then(function (delivered) {
          if (!delivered && latestFeedback === control) { control.reopen(); }
        });
      });
      item.appendChild(button);
      return button;
    });
    log.appendChild(entry);
    latestFeedback = control;
  }

  // A plan offered to keep (bot/plan_page.py): the page is built by the server from the
  // situation in the message's payload, at "plan?<situation>&made=<date>".
  var PLAN_DATE = /^\d{4}-\d{2}-\d{2}$/;

  function planOffered(custom) {
    var plan = custom && custom.involvement_plan;
    return plan && typeof plan.query === "string" ? plan : null;
  }

  function addPlanLinks(plan) {
    var made = PLAN_DATE.test(plan.made || "") ? plan.made : "";
    var params = new URLSearchParams(plan.query);
    params.delete("made");
    if (made) { params.set("made", made); }
    var href = "plan?" + params.toString();
    var item = document.createElement("li");
    item.className = "plan-links";
    var link = document.createElement("a");
    link.href = href;
    link.textContent = "Download your plan";
    // Mirrors bot.plan_page.download_name; without a date the server's name is used.
    link.setAttribute("download", made ? "patient-involvement-plan-" + made + ".html" : "");
    var open = document.createElement("a");
    open.href = href;
    open.textContent = "Open it";
    open.target = "_blank";
    open.rel = "noopener";
    item.appendChild(link);
    item.appendChild(document.createTextNode(" · "));
    item.appendChild(open);
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  // The events an answer lists (bot/ical.py calendar_links), each with a link to its
  // calendar file, "events/<slug>.ics" beside this page; anything else is not a link. Only
  // for messages without cards (stored before them): a card has its own link.
  function calendarLinks(custom) {
    var listed = custom && custom.events;
    if (!Array.isArray(listed)) { return []; }
    return listed.filter(function (entry) {
      return entry && typeof entry.title === "string" &&
        CALENDAR_URL.test(String(entry.calendar_url));
    });
  }

  // Right under the answer's text, so each link sits by the event it adds.
  function addCalendarLinks(links) {
    if (!links.length) { return; }
    var item = document.createElement("li");
    item.className = "calendar-links";
    var list = document.createElement("ul");
    links.forEach(function (entry) {
      var line = document.createElement("li");
      var link = document.createElement("a");
      link.href = entry.calendar_url;
      link.textContent = "Add to calendar: " + entry.title;
      line.appendChild(link);
      list.appendChild(line);
    });
    item.appendChild(list);
    if (latestBotMessage && latestBotMessage.parentNode === log) {
      log.insertBefore(item, latestBotMessage.nextSibling);
    } else {
      log.appendChild(item);
    }
  }

  // One bot message of a webhook reply or of the history, with what goes under it.
  function showBotMessage(entry, buttonsDisabled) {
    var plan = planOffered(entry.custom);
    var hasCards = false;
    if (entry.text || isRich(entry.rich) || !plan) {
      hasCards = addMessage("bot", entry.text, entry.rich);
    }
    if (!hasCards) { addCalendarLinks(calendarLinks(entry.custom)); }
    if (entry.buttons && entry.buttons.length) { addButtons(entry.buttons, buttonsDisabled); }
    if (isAnswer(entry)) { addFeedback(); }
    if (plan) { addPlanLinks(plan); }
  }

  function showReplies(replies) {
    replies.forEach(function (reply) {
      if (reply.text || isRich(reply.rich) || planOffered(reply.custom) ||
          (reply.buttons && reply.buttons.length) || calendarLinks(reply.custom).length) {
        showBotMessage(reply, false);
      }
    });
  }

  // Resolves to whether the assistant got the message.
  function send(payload, shown) {
    addMessage("user", shown || payload);
    typing.hidden = false;
    // A button's title travels with its payload, so the transcript shows what was clicked.
    var body = { sender: sender, message: payload };
    var metadata = {};
    if (shown) { metadata.display = shown; }
    if (chosenLanguage) { metadata.language = chosenLanguage; }
    if (Object.keys(metadata).length) { body.metadata = metadata; }
    return fetch(WEBHOOK, {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify(body)
    }).then(function (response) {
      if (response.status === 429) {
        // Rate limited (bot/ratelimit.py): a polite word, not an error.
        addMessage("bot", SLOW_DOWN);
        return false;
      }
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error || ("HTTP " + response.status)); }
        showReplies(body);
        return true;
      });
    }).catch(function (error) {
      addMessage("bot", "Sorry, I couldn't reach the assistant (" + error.message + "). Please try again.");
      return false;
    }).finally(function () {
      typing.hidden = true;
      input.focus();
    });
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var text = input.value.trim();
    if (!text) { return; }
    input.value = "";
    send(text);
  });

  // The greeting and suggestions of a new conversation (data/welcome.yml, served live, so
  // staff change them without touching this page). Shown on the page only: nothing is sent
  // until a suggestion is clicked or a question typed. In the language chosen under "Answers
  // in"; with Automatic, the browser's Accept-Language header tells the server.
  var welcomesAsked = 0;  // only the latest welcome asked for is shown (languages changed fast)

  function showWelcome() {
    setState("loading");
    var asked = ++welcomesAsked;
    var address = chosenLanguage && chosenLanguage !== AUTOMATIC
      ? "welcome?language=" + encodeURIComponent(chosenLanguage) : "welcome";
    return fetch(address)
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (welcome) {
        if (asked !== welcomesAsked) { return; }
        if (!welcome || typeof welcome.text !== "string" || log.childNodes.length) { return; }
        addMessage("bot", welcome.text);
        latestBotMessage.classList.add("msg--welcome");
        var buttons = Array.isArray(welcome.buttons) ? welcome.buttons : [];
        if (buttons.length) { addButtons(buttons); }
      })
      .catch(function () { /* the page still works without a greeting */ })
      .finally(function () { setState("ready"); });
  }

  function clearLog() {
    setSender(newSender());
    log.textContent = "";
    latestFeedback = null;
    latestBotMessage = null;
  }

  document.getElementById("restart").addEventListener("click", function () {
    clearLog();
    showWelcome();
    input.focus();
  });

  document.getElementById("print").addEventListener("click", function () { window.print(); });
  // Everything "More" hides is printed too, whichever way printing was asked for.
  window.addEventListener("beforeprint", function () {
    Array.prototype.forEach.call(log.querySelectorAll("details"), function (details) {
      details.open = true;
    });
  });

  document.getElementById("forget").addEventListener("click", function () {
    fetch("forget", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender })
    }).then(function (response) {
      // Only a 2xx means the server erased it: anything else keeps the conversation on
      // screen and says so, never "Done".
      if (!response.ok) {
        return response.json().catch(function () { return {}; }).then(function (body) {
          throw new Error((body && body.error) || ("HTTP " + response.status));
        });
      }
      clearLog();
      addMessage("bot", "Done: this conversation has been erased.");
      input.focus();
    }).catch(function (error) {
      addMessage("bot", "Sorry, I couldn't erase the conversation right now (" +
        error.message + "). It is still stored. Please try again in a moment.");
    });
  });

  // A reload brings the conversation back; only the latest buttons stay clickable, and
  // ratings already given show as given. A conversation with nothing in it gets the welcome.
  setState("loading");
  fetch("history?sender=" + encodeURIComponent(sender))
    .then(function (response) { return response.ok ? response.json() : []; })
    .catch(function () { return []; })
    .then(function (entries) {
      if (!Array.isArray(entries) || !entries.length) { return showWelcome(); }
      entries.forEach(function (entry, index) {
        var last = index === entries.length - 1;
        if (entry.from === "bot") {
          showBotMessage(entry, !last);
        } else {
          addMessage("user", entry.text);
          if (entry.buttons && entry.buttons.length) { addButtons(entry.buttons, !last); }
        }
        if (entry.feedback && latestFeedback) { latestFeedback.rated(entry.feedback); }
      });
      setState("ready");
    })
    .catch(function () { setState("ready"); /* a fresh page is still usable */ });
})();
