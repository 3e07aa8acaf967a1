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
      show(routeOf(location), { fresh: true });
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
    show(routeOf(location), { fresh: true });
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
        throw new Error(signinForm.hidden ? "Sign in first: the picture API needs you signed in for that."
          : "Sign in (above) to see and upload pictures.");
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
      if (gallery.collection === collection && current.view === "collection") schedulePoll(0);
      else go(hrefOf({ view: "collection", collection }));
    } catch (error) {
      sayError(error);
    } finally {
      busy = false;
      uploadButton.removeAttribute("aria-disabled");
    }
  }
  $("upload-form").addEventListener("submit", (event) => { event.preventDefault(); upload(); });

  // ---- Where the page is: the URL holds it, so a view can be linked, bookmarked, reloaded and stepped
  // through with back and forward. "./" is the landing (recent pictures and collections),
  // "?collection=C" a collection, "?collection=C&name=N" a picture; the hash stays free for "#token=".
  function routeOf(place) {
    const params = new URLSearchParams(place.search);
    const collection = params.get("collection"), name = params.get("name");
    if (collection && name) return { view: "picture", collection, name };
    if (collection) return { view: "collection", collection };
    return { view: "landing" };
  }
  function hrefOf(route) {
    if (route.view === "landing") return location.pathname;
    const params = new URLSearchParams({ collection: route.collection });
    if (route.view === "picture") params.set("name", route.name);
    return `?${params.toString()}`;
  }
  const sameRoute = (a, b) => a.view === b.view && a.collection === b.collection && a.name === b.name;
  let current = { view: "none" };

  // Follows an in-page link without reloading (a new history entry); modified clicks open tabs as usual.
  function go(href) {
    const url = new URL(href, location.href);
    if (url.href !== location.href) history.pushState(null, "", url.pathname + url.search + url.hash);
    show(routeOf(url), { focus: true });
  }
  document.addEventListener("click", (event) => {
    const link = event.target.closest?.("a[data-route]");
    if (!link || event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
    event.preventDefault();
    go(link.getAttribute("href"));
  });
  window.addEventListener("popstate", () => show(routeOf(location), { focus: true }));

  // ---- Pictures: the recent ones (landing) or one collection's ----
  const grid = $("gallery"), more = $("more"), empty = $("gallery-empty");
  const gallery = { collection: null, items: [], cursor: null, generation: 0, loaded: false, refreshing: null };
  const tiles = new Map();
  let watch = null, pollTimer = null;
  const idOf = (item) => `${item.collection}/${item.name}`;

  // What a tile shows, minus the presigned URL (new on every answer), so unchanged tiles stay put.
  function signature(item) {
    if (!item) return null;
    return JSON.stringify([item.status, item.etag, item.uploadedAt, item.processedAt, item.error?.message, Boolean(item.thumbnail)]);
  }

  function tileFor(item) {
    const sig = signature(item), id = idOf(item);
    const existing = tiles.get(id);
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
    // Across collections each tile says which collection it is in.
    const where = gallery.collection === null ? el("span", { class: "in" }, `in ${item.collection}`) : null;
    const link = el("a", { href: hrefOf({ view: "picture", collection: item.collection, name: item.name }), "data-route": true,
      class: `picture ${state}`, "data-name": item.name, "data-collection": item.collection },
      picture, el("span", { class: "caption" }, item.name, where, note ? el("span", { class: "note" }, note) : null));
    const tile = el("li", { "data-sig": sig, "data-born": Date.now(), "data-id": id }, link);
    tiles.set(id, tile);
    return tile;
  }

  function render() {
    const focused = document.activeElement?.closest?.("#gallery li")?.dataset.id;
    const nodes = gallery.items.map(tileFor);
    nodes.forEach((node, index) => { if (grid.children[index] !== node) grid.insertBefore(node, grid.children[index] ?? null); });
    while (grid.children.length > nodes.length) grid.lastElementChild.remove();
    for (const id of [...tiles.keys()]) if (!tiles.get(id).isConnected) tiles.delete(id);
    if (focused && document.activeElement === document.body) tiles.get(focused)?.querySelector("a")?.focus();
    more.hidden = !gallery.cursor;
    grid.hidden = gallery.items.length === 0;
    empty.hidden = gallery.items.length > 0;
    if (!gallery.loaded) empty.textContent = "Loading…";
    else if (gallery.collection !== null) empty.textContent = `No pictures in “${gallery.collection}” yet.`;
    else empty.textContent = "No pictures yet: upload one, and it shows here once its renditions are made.";
  }

  const listPath = (collection, limit, cursor) =>
    `pictures?${collection === null ? "" : `collection=${enc(collection)}&`}limit=${limit}${cursor ? `&cursor=${enc(cursor)}` : ""}`;

  // Starts over on the recent pictures (collection null) or one collection's.
  function showListing(collection) {
    gallery.collection = collection;
    gallery.items = [];
    gallery.cursor = null;
    gallery.generation += 1;
    gallery.loaded = false;
    grid.replaceChildren();
    tiles.clear();
    $("gallery-title").textContent = collection === null ? "Recent pictures" : `Pictures in “${collection}”`;
    render();
    schedulePoll(0);
  }

  // Reloads what is shown (the first pages, up to 100 pictures) so new and changed pictures appear.
  async function refresh() {
    if (gallery.refreshing === gallery.generation) return;
    const { collection, generation } = gallery;
    const shown = gallery.items.length;
    const limit = Math.min(MAX_LIMIT, Math.max(PAGE_SIZE, shown));
    gallery.refreshing = generation;
    try {
      const page = await api(listPath(collection, limit));
      // Another listing, or "More" meanwhile: this answer is stale.
      if (generation !== gallery.generation || shown !== gallery.items.length) return;
      const items = page?.items ?? [];
      if (shown > limit) {
        const ids = new Set(items.map(idOf));
        gallery.items = items.concat(gallery.items.slice(limit).filter((item) => !ids.has(idOf(item))));
      } else {
        gallery.items = items;
        gallery.cursor = page?.cursor ?? null;
      }
      gallery.loaded = true;
      render();
      // A recent picture in a collection not listed yet, newer than what the listed pages covered: the
      // collections changed, list them again. An older one is on a collections page not asked for yet
      // (after "More" on the pictures), which reloading would not list either, on every poll.
      if (collection === null && current.view === "landing" && gallery.items.some((item) => !browse.names.has(item.collection)
        && (!browse.cursor || String(item.processedAt ?? "") > browse.covered))) {
        loadCollections(true).catch(sayError);
      }
    } finally {
      if (gallery.refreshing === generation) gallery.refreshing = null;
    }
  }

  async function loadMore() {
    if (!gallery.cursor) return;
    const { collection, generation, cursor } = gallery;
    const page = await api(listPath(collection, PAGE_SIZE, cursor));
    if (generation !== gallery.generation || cursor !== gallery.cursor) return;
    const ids = new Set(gallery.items.map(idOf));
    gallery.items = gallery.items.concat((page?.items ?? []).filter((item) => !ids.has(idOf(item))));
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
    if (document.visibilityState !== "visible" || current.view === "picture") return;
    try {
      await refresh();
      await followWatch();
      lastPollError = null;
    } catch (error) {
      // Nothing to show (signed out, or the API refused): the grid's note says why.
      if (!gallery.loaded) { gallery.loaded = true; render(); empty.textContent = error.message; }
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
    if (document.visibilityState === "visible" && current.view !== "picture") schedulePoll(0);
  });

  // ---- Collections: by their newest picture; a later page may name one again, shown once ----
  const collectionList = $("collections"), moreCollections = $("more-collections"), collectionsEmpty = $("collections-empty");
  // covered: the processedAt of the last entry of the last page read; every collection with a picture
  // newer than that is listed.
  const browse = { names: new Set(), cursor: null, covered: "", generation: 0 };
  function collectionEntry(entry) {
    const url = safeURL(entry.thumbnail?.url);
    const cover = url ? el("img", { src: url, alt: "", loading: "lazy", decoding: "async" })
      : el("span", { class: "placeholder", "aria-hidden": "true" });
    const when = entry.processedAt ? el("span", { class: "when" }, "latest ", time(entry.processedAt)) : null;
    return el("li", { "data-collection": entry.collection },
      el("a", { href: hrefOf({ view: "collection", collection: entry.collection }), "data-route": true },
        cover, el("span", {}, entry.collection, when)));
  }
  async function loadCollections(fresh) {
    const generation = fresh ? ++browse.generation : browse.generation;
    let cursor = fresh ? null : browse.cursor;
    // A page may name only collections shown already (their older pictures): the next one is asked for
    // then, a few times at most, so "More collections" always adds one when there is one.
    for (let round = 0; round < 5; round += 1) {
      const page = await api(`collections?limit=${PAGE_SIZE}${cursor ? `&cursor=${enc(cursor)}` : ""}`);
      if (generation !== browse.generation) return;
      if (fresh && round === 0) { browse.names.clear(); collectionList.replaceChildren(); }
      const entries = page?.items ?? [];
      if (entries.length) browse.covered = String(entries[entries.length - 1].processedAt ?? "");
      let added = 0;
      for (const entry of entries) {
        if (browse.names.has(entry.collection)) continue;
        browse.names.add(entry.collection);
        collectionList.append(collectionEntry(entry));
        added += 1;
      }
      cursor = page?.cursor ?? null;
      if (added > 0 || !cursor) break;
    }
    browse.cursor = cursor;
    moreCollections.hidden = !browse.cursor;
    collectionList.hidden = browse.names.size === 0;
    collectionsEmpty.hidden = browse.names.size > 0;
    collectionsEmpty.textContent = "No collections yet.";
  }
  moreCollections.addEventListener("click", () => loadCollections(false).catch(sayError));

  // ---- Open a collection (or a picture) by name ----
  $("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    const collection = $("search-collection").value.trim(), name = $("search-name").value.trim();
    if (!collection) { say("Enter a collection to open.", "error"); $("search-collection").focus(); return; }
    store("localStorage", "tessera.collection", collection);
    go(hrefOf(name ? { view: "picture", collection, name } : { view: "collection", collection }));
  });

  // ---- A picture ----
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

  let detailGeneration = 0;
  async function loadDetail(collection, name) {
    const generation = ++detailGeneration;
    $("detail-title").textContent = `${collection} / ${name}`;
    $("detail-state").textContent = "Loading…";
    $("detail-state").className = "";
    $("detail-renditions").replaceChildren();
    $("detail-meta").replaceChildren();
    try {
      const item = await api(`pictures/${enc(collection)}/${enc(name)}`);
      if (generation === detailGeneration) renderDetail(item);
    } catch (error) {
      if (generation !== detailGeneration) return;
      $("detail-state").textContent = error.message;
      $("detail-state").className = "error-text";
      sayError(error);
    }
  }

  // ---- Views ----
  function crumbs(route) {
    const list = $("crumbs").querySelector("ol");
    const items = [el("li", {}, el("a", { href: hrefOf({ view: "landing" }), "data-route": true }, "All pictures"))];
    if (route.view === "collection") items.push(el("li", {}, el("span", { "aria-current": "page" }, route.collection)));
    if (route.view === "picture") {
      items.push(el("li", {}, el("a", { href: hrefOf({ view: "collection", collection: route.collection }), "data-route": true }, route.collection)));
      items.push(el("li", {}, el("span", { "aria-current": "page" }, route.name)));
    }
    list.replaceChildren(...items);
    $("crumbs").hidden = route.view === "landing";
  }

  // Shows what the route names: the same route again only reloads when `fresh` (after signing in or out).
  function show(route, { fresh = false, focus = false } = {}) {
    const before = current;
    current = route;
    crumbs(route);
    const picture = route.view === "picture";
    $("pictures").hidden = picture;
    $("picture").hidden = !picture;
    $("browse").hidden = route.view !== "landing";
    document.title = route.view === "landing" ? "Tessera pictures"
      : `${picture ? `${route.name} in ${route.collection}` : route.collection} · Tessera pictures`;
    if (picture) {
      clearTimeout(pollTimer);
      loadDetail(route.collection, route.name);
    } else {
      const collection = route.view === "collection" ? route.collection : null;
      if (fresh || gallery.collection !== collection || before.view === "none") showListing(collection);
      else schedulePoll(0);
      if (collection !== null) {
        $("search-collection").value = collection;
        if (!collectionInput.value.trim() && !nameProblem(collection, "Collection")) collectionInput.value = collection;
      } else if (fresh || before.view !== "landing") {
        loadCollections(true).catch(sayError);
      }
    }
    // A view opened from a link takes the focus to its heading, as a new page would.
    if (focus && !sameRoute(before, route)) {
      const heading = $(picture ? "detail-title" : "gallery-title");
      heading.setAttribute("tabindex", "-1");
      heading.focus({ preventScroll: false });
    }
  }

  // ---- Start ----
  // "./" would leave a stage prefix without its slash ("/prod"): the landing is this very path.
  $("home").setAttribute("href", location.pathname);
  const remembered = store("localStorage", "tessera.collection");
  if (remembered && !nameProblem(remembered, "Collection")) collectionInput.value = remembered;
  show(routeOf(location));
})();
