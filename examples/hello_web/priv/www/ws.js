// The WebSocket demo page (ws.html): the echo box and the live counter.
"use strict";
// One WebSocket per endpoint, reopened after a pause if the device drops it.
function connect(path, stateEl, onMessage, onOpen) {
  const url = (location.protocol === "https:" ? "wss://" : "ws://") + location.host + path;
  const ws = new WebSocket(url);
  ws.onopen = () => { stateEl.textContent = "open"; if (onOpen) onOpen(ws); };
  ws.onmessage = (ev) => onMessage(ev.data);
  ws.onclose = () => {
    stateEl.textContent = "closed";
    setTimeout(() => connect(path, stateEl, onMessage, onOpen), 2000);
  };
  return ws;
}

const echoLog = document.getElementById("echo-log");
let echo = null;
connect("/ws/echo", document.getElementById("echo-state"), (text) => {
  const li = document.createElement("li");
  li.className = "echo-reply";
  li.textContent = text;
  echoLog.appendChild(li);
}, (ws) => { echo = ws; });

document.getElementById("echo-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = document.getElementById("echo-input");
  if (echo && echo.readyState === WebSocket.OPEN && input.value !== "") {
    echo.send(input.value);
    input.value = "";
  }
});

let counter = null;
const counterValue = document.getElementById("counter-value");
connect("/ws/counter", document.getElementById("counter-state"), (text) => {
  const msg = JSON.parse(text);
  if (typeof msg.counter === "number") counterValue.textContent = String(msg.counter);
}, (ws) => { counter = ws; });

document.getElementById("counter-reset").addEventListener("click", () => {
  if (counter && counter.readyState === WebSocket.OPEN) counter.send("reset");
});
document.getElementById("counter-add").addEventListener("click", () => {
  if (counter && counter.readyState === WebSocket.OPEN) counter.send("add:10");
});
