// Embed the ECRIN assistant on any page with one line:
//   <script src="https://ASSISTANT-HOST/webhooks/web/static/embed.js" defer></script>
// It adds a chat bubble that opens the assistant's own page in a frame (same origin as the
// assistant, so nothing of the host page is shared with it).
(function () {
  "use strict";
  var script = document.currentScript;
  var chatUrl = new URL("../", script.src).href;

  var bubble = document.createElement("button");
  bubble.type = "button";
  bubble.textContent = "Questions about clinical trials?";
  bubble.setAttribute("aria-expanded", "false");
  bubble.style.cssText = "position:fixed;right:1rem;bottom:1rem;z-index:2147483646;" +
    "background:#0b4f8a;color:#fff;border:0;border-radius:2rem;padding:0.75rem 1.1rem;" +
    "font:16px system-ui,sans-serif;cursor:pointer;box-shadow:0 2px 8px rgba(0,0,0,.3)";

  var frame = document.createElement("iframe");
  frame.title = "ECRIN assistant";
  frame.hidden = true;
  frame.style.cssText = "position:fixed;right:1rem;bottom:4.5rem;z-index:2147483647;" +
    "width:min(24rem,calc(100vw - 2rem));height:min(36rem,calc(100vh - 6rem));" +
    "border:1px solid #767676;border-radius:0.75rem;background:#fff";

  bubble.addEventListener("click", function () {
    if (!frame.src) { frame.src = chatUrl; }
    frame.hidden = !frame.hidden;
    bubble.setAttribute("aria-expanded", String(!frame.hidden));
  });

  document.body.appendChild(frame);
  document.body.appendChild(bubble);
})();
