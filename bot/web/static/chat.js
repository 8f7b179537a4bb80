// The web chat: plain DOM, no framework, no build step. Text is always inserted with
// textContent, so HTML in a message (a user's or the assistant's) is shown, never run.
(function () {
  "use strict";
  var WEBHOOK = "webhook";
  var SENDER_KEY = "ecrin-chat-sender";
  var log = document.getElementById("log");
  var form = document.getElementById("form");
  var input = document.getElementById("message");
  var typing = document.getElementById("typing");

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

  function showReplies(replies) {
    replies.forEach(function (reply) {
      if (reply.text) { addMessage("bot", reply.text); }
      if (reply.buttons && reply.buttons.length) { addButtons(reply.buttons); }
    });
  }

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
      return response.json().then(function (body) {
        if (!response.ok) { throw new Error(body.error || ("HTTP " + response.status)); }
        showReplies(body);
      });
    }).catch(function (error) {
      addMessage("bot", "Sorry, I couldn't reach the assistant (" + error.message + "). Please try again.");
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
    input.focus();
  }

  document.getElementById("restart").addEventListener("click", restart);

  document.getElementById("forget").addEventListener("click", function () {
    fetch("forget", {
      method: "POST",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ sender: sender })
    }).then(function () {
      restart();
      addMessage("bot", "Done: this conversation has been erased.");
    }).catch(function () {
      addMessage("bot", "Sorry, I couldn't erase the conversation right now. Please try again.");
    });
  });

  // A reload brings the conversation back; only the latest buttons stay clickable.
  fetch("history?sender=" + encodeURIComponent(sender))
    .then(function (response) { return response.ok ? response.json() : []; })
    .then(function (entries) {
      entries.forEach(function (entry, index) {
        addMessage(entry.from, entry.text);
        if (entry.buttons && entry.buttons.length) {
          addButtons(entry.buttons, index !== entries.length - 1);
        }
      });
    })
    .catch(function () { /* a fresh page is still usable */ });
})();
