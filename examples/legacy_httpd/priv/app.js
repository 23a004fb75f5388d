fetch("/api/system_info").then(r => r.json()).then(j => {
  document.getElementById("info").textContent = JSON.stringify(j);
});
const ws = new WebSocket(`ws://${location.host}/ws`);
ws.onmessage = (e) => {
  try { document.getElementById("ticks").textContent = JSON.parse(e.data).tick; } catch (_) {}
};
