// The web chat: plain DOM, no framework, no build step. Text is always inserted with
// textContent, so HTML in a message (a user's or the assistant's) is shown, never run.
(function () {
  "use strict";
  var WEBHOOK = "webhook";
  var SLOW_DOWN = "You're sending messages quickly; please wait a few seconds and try again.";
  var SENDER_KEY = "ecrin-chat-sender";
  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("message");
  var typing = document.getElementById("typing");

  // Mirrors bot/feedback.py (SOURCE_LINK, the payloads and their emoji; the Python is
  // the reference, tests/test_feedback.py checks they agree): an answer is a bot message that
  // cites its source, and only answers get "Was this helpful?".
  var SOURCE_LINK = /Learn more: https?:\/\/\S/;
  var RATINGS = [
    { payload: "/feedback_positive", emoji: "👍", label: "Helpful" },
    { payload: "/feedback_negative", emoji: "👎", label: "Not helpful" }
  ];
  var feedbackCount = 0;
  var latestFeedback = null;  // only the latest answer can be rated
  var latestBotMessage = null;  // where an answer's calendar links go

  function newSender() {
    var id = (window.crypto && crypto.randomUUID) ? crypto.randomUUID()
      : String(Date.now()) + Math.random().toString(16).slice(2);
    localStorage.setItem(SENDER_KEY, id);
    return id;
  }
  var sender = localStorage.getItem(SENDER_KEY) || newSender();

  // Turns URLs into links without ever parsing HTML.
  function appendRich(parent, text) {
    var urlPattern = /https?:\/\/[^\s<>"')]+[^\s<>"').,;:!?]/g;
    var last = 0, match;
    while ((match = urlPattern.exec(text)) !== null) {
      parent.appendChild(document.createTextNode(text.slice(last, match.index)));
      var link = document.createElement("a");
      link.href = match[0];
      link.textContent = match[0];
      link.target = "_blank";
      link.rel = "noopener noreferrer";
      parent.appendChild(link);
      last = match.index + match[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function addMessage(who, text) {
    var item = document.createElement("li");
    item.className = "msg msg--" + who;
    var label = document.createElement("span");
    label.className = "visually-hidden";
    label.textContent = who === "bot" ? "Assistant: " : "You: ";
    item.appendChild(label);
    appendRich(item, text);
    log.appendChild(item);
    if (who === "bot") { latestBotMessage = item; }
    item.scrollIntoView({ block: "end" });
  }

  function addButtons(buttons, disabled) {
    var list = document.createElement("ul");
    list.className = "chips";
    buttons.forEach(function (button) {
      var entry = document.createElement("li");
      var chip = document.createElement("button");
      chip.type = "button";
      chip.textContent = button.title;
      chip.addEventListener("click", function () {
        list.remove();
        send(button.payload, button.title);
      });
      if (disabled) { chip.disabled = true; }
      entry.appendChild(chip);
      list.appendChild(entry);
    });
    log.appendChild(list);
  }

  function isAnswer(text) {
    return SOURCE_LINK.test(text || "");
  }

  // "Was this helpful?" and two toggle buttons, under an answer. A rating is sent like a
  // chip click (its emoji is what the transcript shows); afterwards the control only says
  // which rating was given.
  function addFeedback() {
    if (latestFeedback) { latestFeedback.close(); }
    var item = document.createElement("li");
    item.className = "feedback";
    item.setAttribute("role", "group");
    var question = document.createElement("span");
    question.id = "feedback-" + (++feedbackCount);
    question.textContent = "Was this helpful?";
    item.setAttribute("aria-labelledby", question.id);
    item.appendChild(question);
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
    log.appendChild(item);
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
    var download = document.createElement("a");
    download.href = href;
    download.textContent = "Download your plan";
    // Mirrors bot.plan_page.download_name; without a date the server's name is used.
    download.setAttribute("download", made ? "patient-involvement-plan-" + made + ".html" : "");
    var open = document.createElement("a");
    open.href = href;
    open.textContent = "Open it";
    open.target = "_blank";
    open.rel = "noopener";
    item.appendChild(download);
    item.appendChild(document.createTextNode(" · "));
    item.appendChild(open);
    log.appendChild(item);
    item.scrollIntoView({ block: "end" });
  }

  // The events an answer lists (bot/ical.py calendar_links), each with a link to its
  // calendar file, "events/<slug>.ics" beside this page; anything else is not a link.
  var CALENDAR_URL = /^events\/[A-Za-z0-9][A-Za-z0-9_.-]*\.ics$/;

  function calendarLinks(custom) {
    var listed = custom && custom.events;
    if (!Array.isArray(listed)) { return []; }
    return listed.filter(function (entry) {
      return entry && typeof entry.title === "string" &&
        CALENDAR_URL.test(String(entry.calendar_url));
    });
  }

  // Right under the answer's text (its payload arrives as a reply of its own, after the
  // "Show more" chips and the rating), so each link sits by the event it adds.
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

  function showReplies(replies) {
    replies.forEach(function (reply) {
      if (reply.text) { addMessage("bot", reply.text); }
      if (reply.buttons && reply.buttons.length) { addButtons(reply.buttons); }
      if (isAnswer(reply.text)) { addFeedback(); }
      var plan = planOffered(reply.custom);
      if (plan) { addPlanLinks(plan); }
      addCalendarLinks(calendarLinks(reply.custom));
    });
  }

  // Resolves to whether the assistant got the message.
  function send(payload, shown) {
    addMessage("user", shown || payload);
    typing.hidden = false;
    // A button's title travels with its payload, so the transcript shows what was clicked.
    var body = { sender: sender, message: payload };
    if (shown) { body.metadata = { display: shown }; }
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

  function restart() {
    sender = newSender();
    log.textContent = "";
    latestFeedback = null;
    latestBotMessage = null;
    input.focus();
  }

  document.getElementById("restart").addEventListener("click", restart);

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
      restart();
      addMessage("bot", "Done: this conversation has been erased.");
    }).catch(function (error) {
      addMessage("bot", "Sorry, I couldn't erase the conversation right now (" +
        error.message + "). It is still stored. Please try again in a moment.");
    });
  });

  // A reload brings the conversation back; only the latest buttons stay clickable, and
  // ratings already given show as given.
  fetch("history?sender=" + encodeURIComponent(sender))
    .then(function (response) { return response.ok ? response.json() : []; })
    .then(function (entries) {
      entries.forEach(function (entry, index) {
        if (entry.text || !planOffered(entry.custom)) { addMessage(entry.from, entry.text); }
        if (entry.from === "bot") { addCalendarLinks(calendarLinks(entry.custom)); }
        if (entry.buttons && entry.buttons.length) {
          addButtons(entry.buttons, index !== entries.length - 1);
        }
        if (entry.from === "bot" && isAnswer(entry.text)) { addFeedback(); }
        if (entry.feedback && latestFeedback) { latestFeedback.rated(entry.feedback); }
        var plan = entry.from === "bot" && planOffered(entry.custom);
        if (plan) { addPlanLinks(plan); }
      });
    })
    .catch(function () { /* a fresh page is still usable */ });
})();
