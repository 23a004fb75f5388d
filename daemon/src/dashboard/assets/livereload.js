// avmd dev live reload: injected into HTML pages served by `avmd dev`. Reloads the page after each
// good rebuild. Uses Server-Sent Events from the avmd dashboard (CORS allowed); the browser
// reconnects by itself if the daemon restarts.
(function () {
  if (window.__avmdLiveReload || typeof EventSource === "undefined") return;
  window.__avmdLiveReload = true;
  var es = new EventSource("__AVMD_EVENTS_URL__");
  es.addEventListener("reload", function () {
    es.close();
    window.location.reload();
  });
})();
