// The control page: reads /state twice a second, sends changes to /settings and images to
// /background, and shows the thumbnail. Every request carries the page's own ?token= (if any).
"use strict";
const token = new URLSearchParams(location.search).get("token");
const withToken = (path) => token === null ? path : `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}`;
const $ = (id) => document.getElementById(id);
let filled = false;

function say(text, ok) {
  const box = $("message");
  box.textContent = text;
  box.className = ok ? "ok" : "error";
}

async function send(path, body, type) {
  const response = await fetch(withToken(path), {method: "POST", headers: {"Content-Type": type}, body});
  const answer = await response.json().catch(() => ({error: `HTTP ${response.status}`}));
  if (answer.error) say(answer.error, false);
  else say(Object.keys(answer.changed).length ? "applied: " + Object.entries(answer.changed).map(([k, v]) => `${k} = ${v}`).join(", ") : "no change", true);
  return answer;
}

const sendSettings = (values) => send("/settings", JSON.stringify(values), "application/json");

function backgroundSpec() {
  const mode = document.querySelector("input[name=mode]:checked");
  if (!mode) return null;
  if (mode.value === "blur") return `blur:${$("strength").value}`;
  if (mode.value === "color") return `color:${$("color").value.toUpperCase()}`;
  return mode.value;
}

function fill(state) {
  const s = state.settings;
  const bg = s.background;
  const mode = bg.startsWith("blur") ? "blur" : bg.startsWith("color") ? "color" : bg === "none" ? "none" : null;
  document.querySelectorAll("input[name=mode]").forEach((r) => { r.checked = r.value === mode; });
  if (bg.startsWith("blur:")) $("strength").value = parseFloat(bg.slice(5));
  if (bg.startsWith("color:")) $("color").value = bg.slice(6).toLowerCase();
  const seg = $("segmenter");
  seg.replaceChildren(...state.choices.segmenter.map((n) => new Option(n, n, false, n === s.segmenter)));
  for (const key of ["edge_low", "edge_high", "light_wrap"]) $(key).value = s[key];
  $("temporal").checked = s.temporal;
  $("mask_reuse").checked = s.mask_reuse;
  $("refine").checked = s.refine;
  $("temporal").disabled = $("refine").disabled = !state.choices.matte;
  const sr = $("sr_model");
  sr.replaceChildren(...state.choices.sr_model.map((n) => new Option(n, n, false, n === s.sr_model)));
  $("sr-box").hidden = state.choices.sr_model.length === 0;
  $("restore").checked = s.restore;
  $("light").checked = s.light === "auto";
  $("restore-label").hidden = !state.choices.restore;
  $("light-label").hidden = !state.choices.light;
  $("picture-box").hidden = !state.choices.restore && !state.choices.light;
  const people = $("people");
  people.replaceChildren(...state.choices.people.map((n) => new Option(n, n, false, n === s.people)));
  $("power").replaceChildren(...state.choices.power.map((n) => new Option(n, n, false, n === s.power)));
  $("power-label").hidden = state.choices.power.length === 0;
}

async function poll() {
  try {
    const state = await (await fetch(withToken("/state"), {cache: "no-store"})).json();
    if (!filled) { fill(state); filled = true; }
    const f = state.frame;
    const ms = Object.entries(f.stage_ms || {}).map(([k, v]) => `${k} ${v} ms`).join("  ");
    const tiers = Object.entries(f.tiers || {}).map(([k, v]) => `${k}: ${v}`).join("  ");
    $("status").textContent = `${f.fps || 0} fps  ${f.cpu_ms_per_frame || 0} CPU-ms/frame  frame ${f.seq ?? "-"}\n${ms}\n${tiers}\nbackground: ${state.settings.background}\n${state.latest}`;
    $("thumb").src = withToken(`/thumbnail.jpg?t=${Date.now()}`);
    $("pause").textContent = state.settings.pause ? "Resume" : "Be right back";
  } catch (e) {
    $("status").textContent = "litecam is not running (retrying)…";
  }
}

async function upload(file) {
  if (!file) return;
  await send("/background", file, file.type || "application/octet-stream");
}

$("apply-background").onclick = () => { const spec = backgroundSpec(); if (spec) sendSettings({background: spec}); };
$("apply-person").onclick = () => sendSettings({
  segmenter: $("segmenter").value, people: $("people").value, edge_low: parseFloat($("edge_low").value), edge_high: parseFloat($("edge_high").value),
  mask_reuse: $("mask_reuse").checked, temporal: $("temporal").checked, refine: $("refine").checked, light_wrap: parseFloat($("light_wrap").value),
});
$("pause").onclick = async () => {
  const state = await (await fetch(withToken("/state"), {cache: "no-store"})).json();
  await sendSettings({pause: !state.settings.pause});
};
$("apply-sr").onclick = () => sendSettings({sr_model: $("sr_model").value});
$("restore").onchange = (e) => sendSettings({restore: e.target.checked});
$("power").onchange = (e) => sendSettings({power: e.target.value});
$("light").onchange = (e) => sendSettings({light: e.target.checked ? "auto" : "off"});
$("file").onchange = (e) => upload(e.target.files[0]);
const drop = $("drop");
drop.ondragover = (e) => { e.preventDefault(); drop.classList.add("over"); };
drop.ondragleave = () => drop.classList.remove("over");
drop.ondrop = (e) => { e.preventDefault(); drop.classList.remove("over"); upload(e.dataTransfer.files[0]); };
poll();
setInterval(poll, 500);
