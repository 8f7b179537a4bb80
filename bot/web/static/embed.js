// Embed the ECRIN assistant on any page with one line:
//   <script src="https://ASSISTANT-HOST/webhooks/web/static/embed.js" defer></script>
// It adds a chat bubble that opens the assistant's own page in a frame (same origin as the
// assistant, so nothing of the host page is shared with it). Optional attributes on the
// script tag (docs/embedding.md):
//   data-title="…"          the chat's heading and the frame's title
//   data-color="#0b4f8a"    the bubble's and the chat's colour (hex only: #rgb or #rrggbb)
//   data-text-color="#fff"  the text on that colour (hex only; ignored if unreadable on it)
//   data-button-text="…"    the bubble's words
// The chat page gets title and colours in its query string and applies them itself.
(function () {
  "use strict";
  var script = document.currentScript;
  var HEX_COLOUR = /^#(?:[0-9a-fA-F]{3}){1,2}$/;
  var MAX_TEXT = 80;

  function text(name, fallback) {
    var value = (script.getAttribute(name) || "").trim().slice(0, MAX_TEXT);
    return value || fallback;
  }

  function colour(name, fallback) {
    var value = (script.getAttribute(name) || "").trim();
    return HEX_COLOUR.test(value) ? value : fallback;
  }

  // WCAG 2 contrast, as chat.js: the text colour is kept only where it is readable (4.5:1),
  // else black or white, whichever reads better on the background.
  function luminance(hex) {
    var digits = hex.slice(1);
    if (digits.length === 3) { digits = digits.replace(/./g, "$&$&"); }
    var c = [0, 2, 4].map(function (at) {
      var v = parseInt(digits.slice(at, at + 2), 16) / 255;
      return v <= 0.03928 ? v / 12.92 : Math.pow((v + 0.055) / 1.055, 2.4);
    });
    return 0.2126 * c[0] + 0.7152 * c[1] + 0.0722 * c[2];
  }

  function contrast(a, b) {
    var la = luminance(a), lb = luminance(b);
    return (Math.max(la, lb) + 0.05) / (Math.min(la, lb) + 0.05);
  }

  function readableOn(back, wanted) {
    if (wanted && contrast(back, wanted) >= 4.5) { return wanted; }
    return contrast(back, "#ffffff") >= contrast(back, "#000000") ? "#ffffff" : "#000000";
  }

  var title = text("data-title", "");
  var background = colour("data-color", "");
  var foreground = colour("data-text-color", "");

  var chatUrl = new URL("../", script.src);
  if (title) { chatUrl.searchParams.set("title", title); }
  if (background) { chatUrl.searchParams.set("color", background); }
  if (background && foreground) { chatUrl.searchParams.set("text-color", foreground); }

  var bubble = document.createElement("button");
  bubble.type = "button";
  bubble.textContent = text("data-button-text", "Questions about clinical trials?");
  bubble.setAttribute("aria-expanded", "false");
  bubble.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483646;" +
    "background:#0b4f8a;color:#fff;border:0;border-radius:2rem;padding:0.75rem 1.1rem;" +
    "font:1rem system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.3);" +
    "max-width:calc(100vw - 2rem)";
  if (background) {
    bubble.style.background = background;
    bubble.style.color = readableOn(background, foreground);
  }

  var frame = document.createElement("iframe");
  frame.title = title || "ECRIN assistant";
  frame.hidden = true;
  frame.style.cssText = "position:fixed;right:1rem;bottom:4.5rem;z-index:2147483647;" +
    "width:min(24rem,calc(100vw - 2rem));height:min(36rem,calc(100vh - 6rem));" +
    "border:1px solid #767676;border-radius:0.75rem;background:#fff";

  bubble.addEventListener("click", function () {
    if (!frame.src) { frame.src = chatUrl.href; }
    frame.hidden = !frame.hidden;
    bubble.setAttribute("aria-expanded", String(!frame.hidden));
  });

  document.body.appendChild(frame);
  document.body.appendChild(bubble);
})();
