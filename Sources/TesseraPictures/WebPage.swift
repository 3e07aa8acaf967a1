/// The web page picture-api serves at GET /: one HTML document with its CSS and JavaScript, no framework, no build step.
enum WebPage {
    static let template: String = #"""
<!doctype html>
<html lang="en" data-max-upload-bytes="__MAX_UPLOAD_BYTES__" data-auth-endpoint="__AUTH_ENDPOINT__" data-auth-client="__AUTH_CLIENT__">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="color-scheme" content="light dark">
<title>Tessera pictures</title>
<link rel="icon" href="data:,">
<style>
:root {
  --bg: #f5f6f8; --fg: #1b1f24; --muted: #5b6470; --card: #fff; --line: #d3d8df;
  --accent: #0b5cc7; --accent-fg: #fff; --error: #b3261e; --ok: #1b7032; --focus: #e07b00;
  font-family: system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; line-height: 1.4;
}
@media (prefers-color-scheme: dark) {
  :root { --bg: #14171b; --fg: #e8eaed; --muted: #a3abb5; --card: #1f2328; --line: #3a414b;
          --accent: #6aa8ff; --accent-fg: #0b1320; --error: #ff8a80; --ok: #7bd88f; --focus: #ffb347; }
}
* { box-sizing: border-box; }
body { margin: 0; background: var(--bg); color: var(--fg); }
header { padding: .75rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
h1 { font-size: 1.25rem; margin: 0; }
h2 { font-size: 1.05rem; margin: 0 0 .75rem; }
main { display: grid; gap: 1rem; padding: 1rem; max-width: 75rem; margin: 0 auto; grid-template-columns: minmax(0, 1fr); }
@media (min-width: 50rem) { main { grid-template-columns: 20rem minmax(0, 1fr); align-items: start; } }
.panel { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 1rem; }
label { display: block; font-weight: 600; font-size: .9rem; margin: .75rem 0 .25rem; }
input[type="text"], input[type="password"] { width: 100%; font: inherit; padding: .5rem .6rem; border: 1px solid var(--line);
  border-radius: 6px; background: var(--bg); color: var(--fg); }
input[aria-invalid="true"] { border-color: var(--error); }
button { font: inherit; padding: .5rem 1rem; border-radius: 6px; border: 1px solid var(--accent);
  background: var(--accent); color: var(--accent-fg); cursor: pointer; }
button.secondary { background: transparent; color: var(--accent); }
button[aria-disabled="true"] { opacity: .6; cursor: progress; }
:focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
.visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip-path: inset(50%); white-space: nowrap; }
.drop { border: 2px dashed var(--line); border-radius: 8px; padding: 1.25rem 1rem; text-align: center;
  cursor: pointer; color: var(--muted); }
.drop.over { border-color: var(--accent); background: color-mix(in srgb, var(--accent) 12%, transparent); }
.drop strong { display: block; color: var(--fg); overflow-wrap: anywhere; }
.actions { display: flex; align-items: center; gap: .75rem; margin-top: 1rem; }
.actions progress { flex: 1; height: .75rem; }
#status { grid-column: 1 / -1; margin: 0; padding: .5rem .75rem; border-radius: 6px; position: sticky; top: 0; z-index: 1;
  background: var(--card); border: 1px solid var(--line); overflow-wrap: anywhere; }
#status:empty { display: none; }
#status[data-kind="error"] { color: var(--error); border-color: var(--error); }
#status[data-kind="ok"] { color: var(--ok); border-color: var(--ok); }
.search { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; margin-bottom: 1rem; }
.search div { flex: 1 1 10rem; }
.search label { margin-top: 0; }
.grid { display: grid; grid-template-columns: repeat(auto-fill, minmax(9rem, 1fr)); gap: .75rem; }
@media (max-width: 30rem) { .grid { grid-template-columns: repeat(2, minmax(0, 1fr)); } }
button.picture { display: flex; flex-direction: column; padding: 0; background: var(--card); color: var(--fg);
  border: 1px solid var(--line); text-align: left; overflow: hidden; }
.picture img, .picture .placeholder { display: block; width: 100%; height: auto; aspect-ratio: 1; object-fit: cover; background: var(--bg); }
.picture .placeholder { display: grid; place-items: center; color: var(--muted); font-size: .85rem; }
.picture .caption { padding: .4rem .5rem; font-size: .85rem; overflow-wrap: anywhere; }
.picture .note { display: block; color: var(--muted); font-size: .8rem; }
.picture.failed { border-color: var(--error); }
.picture.failed .note { color: var(--error); }
.hint { color: var(--muted); }
#more { margin-top: 1rem; }
dialog { width: min(60rem, calc(100vw - 1rem)); max-height: calc(100dvh - 1rem); padding: 0; border: 1px solid var(--line);
  border-radius: 10px; background: var(--card); color: var(--fg); }
dialog::backdrop { background: rgb(0 0 0 / .55); }
.detail-head { position: sticky; top: 0; display: flex; justify-content: space-between; align-items: center; gap: 1rem;
  padding: .75rem 1rem; background: var(--card); border-bottom: 1px solid var(--line); }
.detail-head h2 { margin: 0; overflow-wrap: anywhere; }
.detail-body { padding: 1rem; }
.renditions { display: grid; grid-template-columns: repeat(auto-fit, minmax(14rem, 1fr)); gap: 1rem; margin-bottom: 1rem; }
figure { margin: 0; }
figure img { display: block; max-width: 100%; height: auto; border-radius: 6px; background: var(--bg); }
figcaption { font-size: .85rem; color: var(--muted); margin-top: .25rem; }
dl.meta { display: grid; grid-template-columns: max-content minmax(0, 1fr); gap: .3rem 1rem; margin: 0; }
dl.meta div { display: contents; }
dt { font-weight: 600; }
dd { margin: 0; overflow-wrap: anywhere; }
@media (max-width: 30rem) { dl.meta { grid-template-columns: minmax(0, 1fr); gap: 0; } dd { margin-bottom: .5rem; } }
.error-text { color: var(--error); }
header { display: flex; flex-wrap: wrap; justify-content: space-between; align-items: center; gap: .5rem 1rem; }
#signin-form { display: flex; flex-wrap: wrap; gap: .5rem; align-items: end; }
[hidden] { display: none !important; }
#signin-form label { margin: 0 0 .15rem; }
#signed-in { display: flex; gap: .75rem; align-items: center; }
</style>
</head>
<body>
<header>
  <h1>Tessera pictures</h1>
  <form id="signin-form" novalidate hidden aria-label="Sign in">
    <div><label for="username">User</label>
      <input type="text" id="username" autocomplete="username" autocapitalize="off" spellcheck="false"></div>
    <div><label for="password">Password</label>
      <input type="password" id="password" autocomplete="current-password"></div>
    <div id="new-password-field" hidden><label for="new-password">New password</label>
      <input type="password" id="new-password" autocomplete="new-password"></div>
    <button type="submit" id="signin">Sign in</button>
  </form>
  <div id="signed-in" hidden>
    <span>Signed in as <strong id="who"></strong></span>
    <button type="button" id="signout" class="secondary">Sign out</button>
  </div>
</header>
<main>
  <p id="status" role="status" aria-live="polite"></p>

  <section class="panel" aria-labelledby="upload-title">
    <h2 id="upload-title">Upload a JPEG</h2>
    <form id="upload-form" novalidate>
      <label for="file" class="visually-hidden">Picture file (JPEG)</label>
      <input type="file" id="file" accept="image/jpeg,.jpg,.jpeg" class="visually-hidden" tabindex="-1">
      <div id="drop" class="drop" role="button" tabindex="0" aria-controls="file" aria-describedby="limit">
        <strong id="drop-file">Choose a JPEG</strong>
        <span>or drop it here</span>
      </div>
      <p id="limit" class="hint"></p>
      <label for="collection">Collection</label>
      <input type="text" id="collection" maxlength="128" autocomplete="off" autocapitalize="off" spellcheck="false"
             aria-describedby="name-rule">
      <label for="name">Name</label>
      <input type="text" id="name" maxlength="128" autocomplete="off" autocapitalize="off" spellcheck="false"
             aria-describedby="name-rule">
      <p id="name-rule" class="hint">Letters A–Z a–z, digits, “.”, “_” and “-”; up to 128, not starting with “.”.</p>
      <div class="actions">
        <button type="submit" id="upload">Upload</button>
        <progress id="progress" max="1" value="0" aria-label="Upload progress"></progress>
      </div>
    </form>
  </section>

  <section class="panel" aria-labelledby="gallery-title">
    <form id="search-form" class="search" role="search" novalidate>
      <div><label for="search-collection">Collection</label>
        <input type="text" id="search-collection" autocomplete="off" autocapitalize="off" spellcheck="false"></div>
      <div><label for="search-name">Name (optional)</label>
        <input type="text" id="search-name" autocomplete="off" autocapitalize="off" spellcheck="false"></div>
      <button type="submit" id="search">Search</button>
    </form>
    <h2 id="gallery-title">Pictures</h2>
    <p id="gallery-empty" class="hint">Search a collection, or upload a picture, to see its pictures.</p>
    <div id="gallery" class="grid" aria-labelledby="gallery-title"></div>
    <button type="button" id="more" class="secondary" hidden>More</button>
  </section>
</main>

<dialog id="detail" aria-labelledby="detail-title">
  <div class="detail-head">
    <h2 id="detail-title">Picture</h2>
    <button type="button" id="detail-close" class="secondary">Close</button>
  </div>
  <div class="detail-body">
    <p id="detail-state"></p>
    <div id="detail-renditions" class="renditions"></div>
    <dl id="detail-meta" class="meta"></dl>
  </div>
</dialog>

<noscript><p>This page needs JavaScript.</p></noscript>

<script>
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);
  const DEFAULT_MAX = 20 * 1024 * 1024;
  const maxBytes = Number.parseInt(document.documentElement.dataset.maxUploadBytes, 10) || DEFAULT_MAX;
  const NAME_RULE = /^[A-Za-z0-9_-][A-Za-z0-9._-]{0,127}$/;
  const PAGE_SIZE = 24, MAX_LIMIT = 100;
  const POLL_MS = 3000, FAST_POLL_MS = 1000, WATCH_MS = 120000;
  // Thumbnail URLs are presigned for a while (15 minutes by default): a tile whose image has not loaded by then gets a new one.
  const TILE_URL_MS = 5 * 60 * 1000;
  // Relative API URLs work at "/" and under a stage prefix ("/prod/"); "/prod" without the slash needs its last segment.
  const base = location.pathname.endsWith("/") ? "" : `${location.pathname.split("/").pop()}/`;
  const enc = encodeURIComponent;

  // ---- Small helpers ----
  function el(tag, attributes = {}, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(attributes)) {
      if (value !== undefined && value !== null && value !== false) node.setAttribute(key, value === true ? "" : String(value));
    }
    node.append(...children.filter((child) => child !== null && child !== undefined));
    return node;
  }
  // sessionStorage or localStorage; either may be missing or throw when the browser disables storage.
  function store(kind, key, value) {
    try {
      if (value === undefined) return window[kind].getItem(key);
      if (value === null) window[kind].removeItem(key); else window[kind].setItem(key, value);
    } catch { /* no storage */ }
    return null;
  }
  function formatBytes(n) {
    if (typeof n !== "number") return "";
    const exact = `${n.toLocaleString("en")} bytes`;
    if (n < 1024) return exact;
    const units = ["KB", "MB", "GB"];
    let value = n / 1024, unit = 0;
    while (value >= 1024 && unit < units.length - 1) { value /= 1024; unit += 1; }
    return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]} (${exact})`;
  }
  const size = (w, h) => (typeof w === "number" && typeof h === "number" ? `${w} × ${h} px` : "");
  function safeURL(url) { return typeof url === "string" && /^https?:\/\//i.test(url) ? url : null; }

  // ---- Status region ----
  const status = $("status");
  function say(message, kind = "info") {
    status.textContent = message;
    status.dataset.kind = kind;
  }
  const sayError = (error) => say(error instanceof Error ? error.message : String(error), "error");

  // ---- API calls (a bearer token from the sign-in below, or from "#token=...") ----
  const TOKEN_KEY = "tessera.token";
  let token = store("sessionStorage", TOKEN_KEY);
  {
    // "#token=" is how a page without a user pool of its own (JwtIssuer) gets a token. Where the page signs
    // in itself it is never taken, nor over a session already open: a link carrying someone else's token
    // would otherwise sign the visitor in as them, and their uploads would be that someone's.
    const params = new URLSearchParams(location.hash.slice(1));
    if (params.get("token")) {
      const ownSignIn = Boolean(document.documentElement.dataset.authClient) && !document.documentElement.dataset.authClient.startsWith("__");
      if (!ownSignIn && !token) {
        token = params.get("token");
        store("sessionStorage", TOKEN_KEY, token);
      }
      params.delete("token");
      const rest = params.toString();
      history.replaceState(null, "", location.pathname + location.search + (rest ? `#${rest}` : ""));
    }
  }

  // ---- Sign-in: the user pool's own API, straight from the browser (an app client without a secret) ----
  const authEndpoint = document.documentElement.dataset.authEndpoint, authClient = document.documentElement.dataset.authClient;
  const signinForm = $("signin-form"), signedIn = $("signed-in");
  let challenge = null;
  function claimsOf(jwt) {
    try {
      const part = jwt.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
      return JSON.parse(decodeURIComponent(escape(atob(part))));
    } catch { return null; }
  }
  function showWho() {
    const claims = token ? claimsOf(token) : null;
    if (claims && claims.exp * 1000 <= Date.now()) { token = null; store("sessionStorage", TOKEN_KEY, null); }
    const known = Boolean(token);
    signedIn.hidden = !known;
    signinForm.hidden = known || !authClient || authClient.startsWith("__");
    $("who").textContent = known ? (claims?.["cognito:username"] ?? claims?.username ?? claims?.email ?? claims?.sub ?? "you") : "";
  }
  async function cognito(target, body) {
    let response;
    try {
      response = await fetch(authEndpoint, {
        method: "POST", body: JSON.stringify(body),
        headers: { "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": `AWSCognitoIdentityProviderService.${target}` },
      });
    } catch {
      throw new Error("Could not reach the sign-in service (network error).");
    }
    const answer = await response.json().catch(() => ({}));
    if (!response.ok) throw new Error(answer.message ?? answer.Message ?? `Sign-in failed (HTTP ${response.status}).`);
    return answer;
  }
  signinForm.addEventListener("submit", async (event) => {
    event.preventDefault();
    const username = $("username").value.trim(), password = $("password").value;
    if (!username || !password) { say("Enter your user name and password.", "error"); return; }
    $("signin").disabled = true;
    try {
      let answer;
      if (challenge) {
        const newPassword = $("new-password").value;
        if (!newPassword) { say("Choose a new password.", "error"); return; }
        answer = await cognito("RespondToAuthChallenge", { ClientId: authClient, ChallengeName: "NEW_PASSWORD_REQUIRED",
          Session: challenge, ChallengeResponses: { USERNAME: username, NEW_PASSWORD: newPassword } });
      } else {
        answer = await cognito("InitiateAuth", { AuthFlow: "USER_PASSWORD_AUTH", ClientId: authClient,
          AuthParameters: { USERNAME: username, PASSWORD: password } });
      }
      if (answer.ChallengeName === "NEW_PASSWORD_REQUIRED") {
        challenge = answer.Session;
        $("new-password-field").hidden = false;
        say("Choose a new password to finish signing in.");
        $("new-password").focus();
        return;
      }
      if (!answer.AuthenticationResult?.IdToken) throw new Error("Sign-in needs a step this page does not offer.");
      challenge = null;
      $("new-password-field").hidden = true;
      token = answer.AuthenticationResult.IdToken;
      store("sessionStorage", TOKEN_KEY, token);
      $("password").value = "";
      showWho();
      say("Signed in.", "ok");
      const current = $("search-collection").value.trim();
      if (current) showCollection(current);
    } catch (error) {
      sayError(error);
    } finally {
      $("signin").disabled = false;
    }
  });
  $("signout").addEventListener("click", () => {
    token = null;
    store("sessionStorage", TOKEN_KEY, null);
    showWho();
    say("Signed out.");
  });
  showWho();

  // Server clock minus ours (from the Date header), to tell a new upload's item from an older version's.
  let clockOffset = 0;

  async function api(path, options = {}) {
    const headers = { Accept: "application/json", ...(options.headers ?? {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    let response;
    try {
      response = await fetch(base + path, { ...options, headers });
    } catch {
      throw new Error("Could not reach the picture API (network error).");
    }
    const date = Date.parse(response.headers.get("Date") ?? "");
    if (!Number.isNaN(date)) clockOffset = date - Date.now();
    const text = await response.text();
    let body = null;
    try { body = text ? JSON.parse(text) : null; } catch { body = null; }
    if (!response.ok) {
      if (response.status === 401) {
        token = null;
        store("sessionStorage", TOKEN_KEY, null);
        showWho();
        throw new Error("Sign in first: the picture API needs you signed in for that.");
      }
      const message = body?.error?.message ?? body?.message ?? `The picture API answered HTTP ${response.status}.`;
      throw new Error(message);
    }
    return body;
  }

  // ---- Names ----
  function nameProblem(value, label) {
    if (!value) return `${label} is required.`;
    if (value.length > 128) return `${label} is ${value.length} characters long; at most 128 are allowed.`;
    if (value.startsWith(".")) return `${label} must not start with “.”.`;
    if (!NAME_RULE.test(value)) return `${label} may only contain letters A–Z and a–z, digits, “.”, “_” and “-”.`;
    return null;
  }
  function nameFromFile(fileName) {
    const safe = fileName.replace(/\.(jpe?g|jfif)$/i, "")
      .normalize("NFKD").replace(/[\u0300-\u036f]/g, "")
      .replace(/[^A-Za-z0-9._-]+/g, "-").replace(/-{2,}/g, "-")
      .replace(/^[.-]+/, "").replace(/-+$/, "").slice(0, 128);
    return safe || "picture";
  }
  function checkField(input, label) {
    const problem = nameProblem(input.value.trim(), label);
    input.setAttribute("aria-invalid", problem ? "true" : "false");
    return problem;
  }

  // ---- Upload ----
  const fileInput = $("file"), drop = $("drop"), collectionInput = $("collection"), nameInput = $("name");
  const uploadButton = $("upload"), progress = $("progress");
  let selectedFile = null, autoName = "", busy = false;
  $("limit").textContent = `JPEG only, up to ${formatBytes(maxBytes)}.`;

  async function fileProblem(file) {
    if (!file) return "Choose a JPEG file first.";
    if (file.type && file.type !== "image/jpeg") return `“${file.name}” is ${file.type}; only JPEG pictures (image/jpeg) can be uploaded.`;
    if (file.size === 0) return `“${file.name}” is empty.`;
    if (file.size > maxBytes) return `“${file.name}” is ${formatBytes(file.size)}; the limit is ${formatBytes(maxBytes)}.`;
    const head = new Uint8Array(await file.slice(0, 3).arrayBuffer());
    if (head[0] !== 0xff || head[1] !== 0xd8 || head[2] !== 0xff) return `“${file.name}” is not a JPEG file (it does not start with FF D8 FF).`;
    return null;
  }

  async function chooseFile(file) {
    if (!file) return;
    selectedFile = file;
    progress.value = 0;
    $("drop-file").textContent = `${file.name} (${formatBytes(file.size)})`;
    if (!nameInput.value.trim() || nameInput.value === autoName) {
      autoName = nameFromFile(file.name);
      nameInput.value = autoName;
      nameInput.setAttribute("aria-invalid", "false");
    }
    const problem = await fileProblem(file);
    if (problem) say(problem, "error"); else say(`Ready to upload “${file.name}”.`);
  }

  fileInput.addEventListener("change", () => chooseFile(fileInput.files[0]));
  drop.addEventListener("click", () => fileInput.click());
  drop.addEventListener("keydown", (event) => {
    if (event.key === "Enter" || event.key === " ") { event.preventDefault(); fileInput.click(); }
  });
  for (const type of ["dragenter", "dragover"]) {
    drop.addEventListener(type, (event) => { event.preventDefault(); drop.classList.add("over"); });
  }
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (event) => {
    event.preventDefault();
    drop.classList.remove("over");
    chooseFile(event.dataTransfer?.files?.[0]);
  });
  // A file dropped beside the zone must not make the browser leave the page to open it.
  for (const type of ["dragover", "drop"]) document.addEventListener(type, (event) => event.preventDefault());

  function s3Message(xhr) {
    const text = xhr.responseText ?? "";
    if (text.trim().startsWith("<")) {
      const doc = new DOMParser().parseFromString(text, "application/xml");
      const message = doc.querySelector("Message")?.textContent, code = doc.querySelector("Code")?.textContent;
      if (message) return code ? `${message} (${code})` : message;
    }
    return `HTTP ${xhr.status}`;
  }

  function postToStorage(grant, file) {
    return new Promise((resolve, reject) => {
      const form = new FormData();
      for (const [key, value] of Object.entries(grant.fields ?? {})) form.append(key, value);
      form.append("file", file);
      const xhr = new XMLHttpRequest();
      xhr.open("POST", grant.url);
      xhr.upload.addEventListener("progress", (event) => {
        if (event.lengthComputable) { progress.max = event.total; progress.value = event.loaded; }
      });
      xhr.addEventListener("load", () => {
        if (xhr.status >= 200 && xhr.status < 300) resolve();
        else reject(new Error(`The storage refused the upload: ${s3Message(xhr)}`));
      });
      xhr.addEventListener("error", () => reject(new Error("The upload to storage failed (network error, or the bucket does not allow this site).")));
      xhr.addEventListener("abort", () => reject(new Error("The upload was cancelled.")));
      xhr.send(form);
    });
  }

  async function upload() {
    if (busy) return;
    const file = selectedFile;
    const problem = await fileProblem(file) ?? checkField(collectionInput, "Collection") ?? checkField(nameInput, "Name");
    if (problem) {
      say(problem, "error");
      if (collectionInput.getAttribute("aria-invalid") === "true") collectionInput.focus();
      else if (nameInput.getAttribute("aria-invalid") === "true") nameInput.focus();
      return;
    }
    const collection = collectionInput.value.trim(), name = nameInput.value.trim();
    busy = true;
    uploadButton.setAttribute("aria-disabled", "true");
    progress.max = 1;
    progress.value = 0;
    try {
      say(`Uploading “${file.name}” as ${collection}/${name}…`);
      const grant = await api("uploads", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ collection, name, contentType: "image/jpeg", bytes: file.size }),
      });
      // The item is new once its uploadedAt (S3's event time) is past the grant, or it changed from what was shown.
      const since = Date.now() + clockOffset - 2000;
      const before = gallery.collection === collection ? signature(gallery.items.find((item) => item.name === name)) : null;
      await postToStorage(grant, file);
      progress.max = 1;
      progress.value = 1;
      say(`Uploaded ${collection}/${name}; making its renditions…`);
      store("localStorage", "tessera.collection", collection);
      watch = { collection, name, since, before, until: Date.now() + WATCH_MS };
      selectedFile = null;
      fileInput.value = "";
      autoName = "";
      nameInput.value = "";
      $("drop-file").textContent = "Choose a JPEG";
      if (gallery.collection === collection) schedulePoll(0); else showCollection(collection);
    } catch (error) {
      sayError(error);
    } finally {
      busy = false;
      uploadButton.removeAttribute("aria-disabled");
    }
  }
  $("upload-form").addEventListener("submit", (event) => { event.preventDefault(); upload(); });

  // ---- Gallery ----
  const grid = $("gallery"), more = $("more"), empty = $("gallery-empty");
  const gallery = { collection: null, items: [], cursor: null, generation: 0, loaded: false, refreshing: null };
  const tiles = new Map();
  let watch = null, pollTimer = null;

  // What a tile shows, minus the presigned URL (new on every answer), so unchanged tiles stay put.
  function signature(item) {
    if (!item) return null;
    return JSON.stringify([item.status, item.etag, item.uploadedAt, item.processedAt, item.error?.message, Boolean(item.thumbnail)]);
  }

  function tileFor(item) {
    const sig = signature(item);
    const existing = tiles.get(item.name);
    const img = existing?.querySelector("img");
    const loaded = !img || (img.complete && img.naturalWidth > 0);
    if (existing?.dataset.sig === sig && (loaded || Date.now() - Number(existing.dataset.born) < TILE_URL_MS)) return existing;
    const state = item.status === "ready" || item.status === "failed" ? item.status : "processing";
    const url = safeURL(item.thumbnail?.url);
    const picture = url
      ? el("img", { src: url, alt: "", width: item.thumbnail.width, height: item.thumbnail.height, loading: "lazy", decoding: "async" })
      : el("span", { class: "placeholder", "aria-hidden": "true" }, "No preview");
    let note = null;
    if (state === "failed") note = `Failed: ${item.error?.message ?? "unknown error"}`;
    else if (state === "processing") note = "Processing…";
    else if (typeof item.width === "number") note = size(item.width, item.height);
    const button = el("button", { type: "button", class: `picture ${state}`, "data-name": item.name, "data-sig": sig, "data-born": Date.now() },
      picture, el("span", { class: "caption" }, item.name, note ? el("span", { class: "note" }, note) : null));
    button.addEventListener("click", () => openDetail(gallery.collection, item.name, button).catch(sayError));
    tiles.set(item.name, button);
    return button;
  }

  function render() {
    const focusedName = document.activeElement?.closest?.("#gallery button.picture")?.dataset.name;
    const nodes = gallery.items.map(tileFor);
    nodes.forEach((node, index) => { if (grid.children[index] !== node) grid.insertBefore(node, grid.children[index] ?? null); });
    while (grid.children.length > nodes.length) grid.lastElementChild.remove();
    for (const name of [...tiles.keys()]) if (!tiles.get(name).isConnected) tiles.delete(name);
    if (focusedName && document.activeElement === document.body) tiles.get(focusedName)?.focus();
    more.hidden = !gallery.cursor;
    empty.hidden = gallery.items.length > 0;
    if (gallery.collection) empty.textContent = gallery.loaded ? `No pictures in “${gallery.collection}” yet.` : "Loading…";
  }

  const listPath = (collection, limit, cursor) =>
    `pictures?collection=${enc(collection)}&limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`;

  function showCollection(collection) {
    gallery.collection = collection;
    gallery.items = [];
    gallery.cursor = null;
    gallery.generation += 1;
    gallery.loaded = false;
    grid.replaceChildren();
    tiles.clear();
    $("gallery-title").textContent = `Pictures in “${collection}”`;
    $("search-collection").value = collection;
    if (!collectionInput.value.trim() && !nameProblem(collection, "Collection")) collectionInput.value = collection;
    render();
    schedulePoll(0);
  }

  // Reloads what is shown (the first pages, up to 100 pictures) so new and changed pictures appear.
  async function refresh() {
    if (!gallery.collection || gallery.refreshing === gallery.generation) return;
    const { collection, generation } = gallery;
    const shown = gallery.items.length;
    const limit = Math.min(MAX_LIMIT, Math.max(PAGE_SIZE, shown));
    gallery.refreshing = generation;
    try {
      const page = await api(listPath(collection, limit));
      // A newer collection, or "More" meanwhile: this answer is stale.
      if (generation !== gallery.generation || shown !== gallery.items.length) return;
      const items = page?.items ?? [];
      if (shown > limit) {
        const names = new Set(items.map((item) => item.name));
        gallery.items = items.concat(gallery.items.slice(limit).filter((item) => !names.has(item.name)));
      } else {
        gallery.items = items;
        gallery.cursor = page?.cursor ?? null;
      }
      gallery.loaded = true;
      render();
    } finally {
      if (gallery.refreshing === generation) gallery.refreshing = null;
    }
  }

  async function loadMore() {
    if (!gallery.collection || !gallery.cursor) return;
    const { collection, generation, cursor } = gallery;
    const page = await api(listPath(collection, PAGE_SIZE, cursor));
    if (generation !== gallery.generation || cursor !== gallery.cursor) return;
    const names = new Set(gallery.items.map((item) => item.name));
    gallery.items = gallery.items.concat((page?.items ?? []).filter((item) => !names.has(item.name)));
    gallery.cursor = page?.cursor ?? null;
    render();
  }
  more.addEventListener("click", () => loadMore().catch(sayError));

  // After an upload: poll fast until the new picture is ready or failed (loading further pages if it sorts later).
  async function followWatch() {
    if (!watch) return;
    if (watch.collection !== gallery.collection) { watch = null; return; }
    const item = gallery.items.find((candidate) => candidate.name === watch.name);
    const label = `${watch.collection}/${watch.name}`;
    const isNew = item && (Date.parse(item.uploadedAt) >= watch.since || (watch.before !== null && signature(item) !== watch.before));
    if (isNew && (item.status === "ready" || item.status === "failed")) {
      if (item.status === "ready") say(`${label} is ready.`, "ok");
      else say(`${label} failed: ${item.error?.message ?? "unknown error"}`, "error");
      watch = null;
    } else if (Date.now() > watch.until) {
      say(`${label} is taking a while; the gallery keeps checking.`);
      watch = null;
    } else if (!item && gallery.cursor && gallery.items.length && watch.name > gallery.items[gallery.items.length - 1].name) {
      await loadMore();
    }
  }

  let lastPollError = null;
  async function poll() {
    pollTimer = null;
    if (document.visibilityState !== "visible" || !gallery.collection) return;
    try {
      await refresh();
      await followWatch();
      lastPollError = null;
    } catch (error) {
      if (error.message !== lastPollError) sayError(error);
      lastPollError = error.message;
    }
    schedulePoll(watch ? FAST_POLL_MS : POLL_MS);
  }
  function schedulePoll(delay) {
    clearTimeout(pollTimer);
    pollTimer = setTimeout(poll, delay);
  }
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") schedulePoll(0);
  });

  // ---- Search ----
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const collection = $("search-collection").value.trim(), name = $("search-name").value.trim();
    if (!collection) { say("Enter a collection to search.", "error"); $("search-collection").focus(); return; }
    store("localStorage", "tessera.collection", collection);
    showCollection(collection);
    if (name) openDetail(collection, name, $("search")).catch(sayError);
    else say(`Showing “${collection}”.`);
  });

  // ---- Detail ----
  const detail = $("detail");
  let detailOpener = null;
  const ORIENTATIONS = ["", "normal", "mirrored", "rotated 180°", "upside down, mirrored", "rotated 90°, mirrored",
    "rotated 90° clockwise", "rotated 90° counter-clockwise, mirrored", "rotated 90° counter-clockwise"];

  function time(iso) {
    if (!iso) return null;
    const date = new Date(iso);
    return el("time", { datetime: iso, title: iso }, Number.isNaN(date.getTime()) ? iso : date.toLocaleString());
  }

  function renderDetail(item) {
    $("detail-title").textContent = `${item.collection} / ${item.name}`;
    const state = $("detail-state");
    state.className = item.status === "failed" ? "error-text" : "";
    if (item.status === "failed") state.textContent = `Failed: ${item.error?.message ?? "unknown error"}${item.error?.type ? ` (${item.error.type})` : ""}`;
    else state.textContent = item.status === "ready" ? "Ready." : "Not processed yet.";

    const urls = item.urls ?? {};
    const renditions = Object.entries(item.renditions ?? {}).sort(([, a], [, b]) => (b.width ?? 0) - (a.width ?? 0));
    const figures = renditions.filter(([name]) => safeURL(urls[name])).map(([name, r]) => el("figure", { "data-rendition": name },
      el("img", { src: safeURL(urls[name]), alt: `${item.name}, ${name} rendition`, width: r.width, height: r.height, decoding: "async" }),
      el("figcaption", {}, `${name}: ${[size(r.width, r.height), formatBytes(r.bytes)].filter(Boolean).join(", ")}`)));
    const original = safeURL(urls.original);
    if (original) {
      figures.push(el("figure", { "data-rendition": "original" },
        el("a", { href: original, target: "_blank", rel: "noopener noreferrer" }, "Open the original"),
        el("figcaption", {}, `original: ${[size(item.width, item.height), formatBytes(item.bytes)].filter(Boolean).join(", ")}`)));
    }
    $("detail-renditions").replaceChildren(...figures);

    const rows = [
      ["collection", "Collection", item.collection], ["name", "Name", item.name],
      ["status", "Status", item.status ?? "processing"], ["source", "Source", item.source],
      ["bytes", "Original size", formatBytes(item.bytes)], ["dimensions", "Dimensions", size(item.width, item.height)],
      ...renditions.map(([name, r]) => [`renditions.${name}`, `Rendition “${name}”`,
        [size(r.width, r.height), formatBytes(r.bytes)].filter(Boolean).join(", ")]),
      ["reductionPercent", "Reduction", typeof item.reductionPercent === "number" ? `${item.reductionPercent.toFixed(1)} % smaller` : null],
      ["format", "Format", item.format], ["colorSpace", "Colour space", item.colorSpace], ["subsampling", "Subsampling", item.subsampling],
      ["progressive", "Progressive", typeof item.progressive === "boolean" ? (item.progressive ? "yes" : "no") : null],
      ["orientation", "Orientation", typeof item.orientation === "number" ? `${item.orientation} (${ORIENTATIONS[item.orientation] ?? "unknown"})` : null],
      ["uploadedAt", "Uploaded", time(item.uploadedAt)], ["processedAt", "Processed", time(item.processedAt)],
      ["processingMs", "Processing time", typeof item.processingMs === "number" ? `${item.processingMs} ms` : null],
      ["key", "Key", item.key ? `${item.bucket ? `${item.bucket}/` : ""}${item.key}` : null],
      ["etag", "ETag", item.etag], ["sha256", "SHA-256", item.sha256],
    ];
    $("detail-meta").replaceChildren(...rows.filter(([, , value]) => value !== null && value !== undefined && value !== "")
      .map(([field, label, value]) => el("div", { "data-field": field }, el("dt", {}, label), el("dd", {}, value))));
  }

  async function openDetail(collection, name, opener) {
    const item = await api(`pictures/${enc(collection)}/${enc(name)}`);
    renderDetail(item);
    detailOpener = opener ?? null;
    if (!detail.open) detail.showModal();
    $("detail-close").focus();
  }
  $("detail-close").addEventListener("click", () => detail.close());
  detail.addEventListener("click", (event) => { if (event.target === detail) detail.close(); });
  detail.addEventListener("close", () => {
    $("detail-renditions").replaceChildren();
    if (detailOpener?.isConnected) detailOpener.focus();
    else if (detailOpener?.dataset?.name) tiles.get(detailOpener.dataset.name)?.focus();
    detailOpener = null;
  });

  // ---- Start ----
  const remembered = store("localStorage", "tessera.collection");
  if (remembered) {
    if (!nameProblem(remembered, "Collection")) collectionInput.value = remembered;
    showCollection(remembered);
  }
})();
</script>
</body>
</html>
"""#
}
