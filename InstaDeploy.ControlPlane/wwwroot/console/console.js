// The console's own script (no CDN, no framework): keeps log views at their end while "Follow" is pressed, and turns
// text the server hands over into a download. Everything else is server-rendered HTML and Blazor's own script.
(() => {
  "use strict";
  const nearEnd = (el) => el.scrollHeight - el.scrollTop - el.clientHeight < 24;
  const following = new WeakMap();

  function follow(log, on) {
    log.dataset.follow = on ? "true" : "false";
    const button = document.querySelector(`[data-log-follow="${log.id}"]`);
    if (button) button.setAttribute("aria-pressed", on ? "true" : "false");
    if (on) log.scrollTop = log.scrollHeight;
  }

  function watch(log) {
    if (following.has(log)) return;
    let ours = false;
    const toEnd = () => {
      if (log.dataset.follow !== "true") return;
      // Only a scroll that moves raises a scroll event: marking a no-op as ours would swallow the user's next scroll up.
      if (log.scrollHeight - log.clientHeight - log.scrollTop < 1) return;
      ours = true;
      log.scrollTop = log.scrollHeight;
    };
    // New lines (or Virtualize's spacers growing) change the subtree: stay at the end.
    const observer = new MutationObserver(toEnd);
    observer.observe(log, { childList: true, subtree: true, attributes: true, attributeFilter: ["style"] });
    // Scrolling up by hand (wheel, keys, scrollbar) lets go of the end; scrolling back to it takes hold again.
    log.addEventListener("scroll", () => {
      if (ours) { ours = false; return; }
      follow(log, nearEnd(log));
    }, { passive: true });
    following.set(log, observer);
    toEnd();
  }

  function scan() { document.querySelectorAll(".log[id]").forEach(watch); }

  document.addEventListener("click", (event) => {
    const button = event.target.closest("[data-log-follow]");
    if (!button) return;
    const log = document.getElementById(button.dataset.logFollow);
    if (log) follow(log, log.dataset.follow !== "true");
  });

  new MutationObserver(scan).observe(document.documentElement, { childList: true, subtree: true });
  document.addEventListener("DOMContentLoaded", scan);
  scan();

  window.instadeploy = {
    download(name, text) {
      const url = URL.createObjectURL(new Blob([text], { type: "text/plain;charset=utf-8" }));
      const a = document.createElement("a");
      a.href = url;
      a.download = name;
      document.body.appendChild(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 1000);
    },
  };
})();
