// soundalike explorer: the page at /, talking to the server's own API.
// No framework and no third-party code: the server's Content-Security-Policy
// allows scripts from this origin only. Every URL the page asks for or
// links to is relative to the page, so that it works under any prefix a
// reverse proxy strips (https://host/soundalike/) as well as at /.
"use strict";

(function () {
  const $ = (id) => document.getElementById(id);

  // The eleven audio features, with the range a bar spans.
  const FEATURES = [
    ["acousticness", 0, 1], ["danceability", 0, 1], ["energy", 0, 1],
    ["instrumentalness", 0, 1], ["key", 0, 11], ["liveness", 0, 1],
    ["loudness", -60, 0], ["mode", 0, 1], ["speechiness", 0, 1],
    ["tempo", 0, 250], ["valence", 0, 1],
  ];

  // Okabe–Ito: a palette colour-blind readers can tell apart.
  const PALETTE = ["#E69F00", "#56B4E9", "#009E73", "#F0E442", "#0072B2", "#D55E00", "#CC79A7", "#000000"];
  const OTHER = "#999999";

  // The view's state is what the URL holds: the query track and the options.
  const OPTION_INPUTS = {
    exclude_artist: "exclude-artist", k: "k", max_per_artist: "max-per-artist", genre: "genre",
    year_min: "year-min", year_max: "year-max", popularity_min: "popularity-min", popularity_max: "popularity-max",
  };

  // SIMILAR_FIELDS is asked of GET /similar: the results carry the
  // neighbours' metadata and features, so one request draws the list and
  // its bars.
  const SIMILAR_FIELDS = "metadata,features";

  const state = { track: "", options: {}, user: "" };
  let queryTrack = null; // the query's track JSON
  let neighbours = [];   // [{result, track}]
  let loadSeq = 0;       // drops answers to superseded loads

  function setStatus(msg, isError) {
    const s = $("status");
    s.textContent = msg || "";
    s.classList.toggle("error", !!isError);
  }

  async function api(path) {
    const r = await fetch(path, { headers: { Accept: "application/json" } });
    let body = null;
    try { body = await r.json(); } catch (e) { body = null; }
    if (!r.ok) {
      const err = new Error((body && body.error) || r.status + " " + r.statusText);
      err.status = r.status;
      throw err;
    }
    return body;
  }

  // el builds an element. Catalogue data enters the page only through it,
  // as text nodes and attribute values, never as HTML.
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k === "text") e.textContent = v;
      else e.setAttribute(k, v);
    }
    for (const c of children) if (c != null) e.append(c);
    return e;
  }

  // Catalogue text is shown bidi-isolated: each name in a <bdi>, so that a
  // right-to-left override in one cannot reorder the text after it (the
  // artist, the year) and pass one track off as another.
  function iso(text) { return el("bdi", { text }); }
  function isoList(list) { return list.flatMap((s, i) => (i ? [", ", iso(s)] : [iso(s)])); }
  // isoText isolates text where no element can: the document's title.
  function isoText(text) { return "\u2068" + text + "\u2069"; }

  // nameOf names track t: its name, or its id when the name shows nothing
  // (empty, spaces, or only invisible format characters), so that every
  // track has something to read and click.
  function nameOf(t) { return t.name && !/^[\s\p{Cc}\p{Cf}]*$/u.test(t.name) ? t.name : t.track_id; }

  // A pasted Spotify link or URI becomes its id; anything else is text.
  function trackRef(text) {
    const t = text.trim();
    let m = t.match(/open\.spotify\.com\/(?:intl-[a-z]+\/)?track\/([A-Za-z0-9]{22})/);
    if (m) return m[1];
    m = t.match(/^spotify:track:([A-Za-z0-9]{22})$/);
    if (m) return m[1];
    if (/^[A-Za-z0-9]{22}$/.test(t)) return t;
    return "";
  }

  // ---- URL state ----

  function readURL() {
    const p = new URLSearchParams(location.search);
    state.track = p.get("track") || "";
    state.user = p.get("user") || "";
    state.options = {};
    for (const name of Object.keys(OPTION_INPUTS)) {
      const v = p.get(name);
      if (v != null && v !== "") state.options[name] = v;
    }
    for (const [name, id] of Object.entries(OPTION_INPUTS)) {
      const input = $(id);
      if (input.type === "checkbox") input.checked = state.options[name] === "true";
      else input.value = state.options[name] || (name === "k" ? "10" : "");
    }
    $("user-id").value = state.user;
  }

  function writeURL(push) {
    const p = new URLSearchParams();
    if (state.track) p.set("track", state.track);
    for (const [k, v] of Object.entries(state.options)) p.set(k, v);
    if (state.user) p.set("user", state.user);
    const url = location.pathname + (p.toString() ? "?" + p.toString() : "");
    if (url === location.pathname + location.search) return;
    if (push) history.pushState(null, "", url); else history.replaceState(null, "", url);
  }

  function readOptions() {
    const o = {};
    for (const [name, id] of Object.entries(OPTION_INPUTS)) {
      const input = $(id);
      if (input.type === "checkbox") { if (input.checked) o[name] = "true"; continue; }
      const v = input.value.trim();
      if (v !== "" && !(name === "k" && v === "10")) o[name] = v;
    }
    return o;
  }

  // The GET /similar query: only the parameters set, so a server without
  // a filter still answers the rest.
  function similarURL() {
    const p = new URLSearchParams({ track: state.track, k: state.options.k || "10" });
    for (const [k, v] of Object.entries(state.options)) if (k !== "k") p.set(k, v);
    p.set("fields", SIMILAR_FIELDS);
    return "similar?" + p.toString();
  }

  // ---- the query and its neighbours ----

  // clearView shows no query track: the hint, no neighbours, no rings.
  function clearView() {
    queryTrack = null; neighbours = [];
    $("card").replaceChildren(el("p", { class: "hint", text: "Search for a track, or pick one on the map." }));
    $("results").replaceChildren();
    document.title = "soundalike explorer";
    delete document.body.dataset.loaded;
    delete document.body.dataset.view;
    mapView.highlight(null, []);
  }

  async function load() {
    const seq = ++loadSeq;
    if (!state.track) {
      clearView();
      return;
    }
    setStatus("Loading…");
    try {
      const sim = await api(similarURL());
      if (seq !== loadSeq) return;
      const ids = sim.results.map((r) => r.track_id);
      queryTrack = sim.track;
      neighbours = sim.results.map((r) => ({ result: r, track: r })); // with their metadata and features
      renderCard(queryTrack);
      renderResults();
      document.title = isoText(nameOf(queryTrack)) + " · soundalike explorer";
      setStatus(neighbours.length + " similar tracks, model " + sim.model + ", " + sim.took_us + " µs");
      document.body.dataset.view = similarURL();
      document.body.dataset.loaded = state.track;
      mapView.highlight(queryTrack.track_id, ids);
    } catch (e) {
      if (seq !== loadSeq) return;
      // The card stays only while it is of the track asked for (an option
      // was refused); a track that failed to load leaves none of another's.
      if (state.track === document.body.dataset.loaded) {
        neighbours = [];
        $("results").replaceChildren();
        delete document.body.dataset.view;
        mapView.highlight(queryTrack.track_id, []);
      } else {
        clearView();
      }
      setStatus(e.message, true);
    }
  }

  function year(t) { return t && t.release_date ? t.release_date.slice(0, 4) : ""; }

  function renderCard(t) {
    const card = el("div", { class: "card" },
      el("h3", {}, iso(nameOf(t))),
      el("div", {}, ...isoList(t.artists)),
      el("dl", {},
        el("dt", { text: "Album" }), el("dd", { text: t.album || "—" }),
        el("dt", { text: "Year" }), el("dd", { text: year(t) || "—" }),
        el("dt", { text: "Popularity" }), el("dd", { text: String(t.popularity) }),
        el("dt", { text: "Genres" }), el("dd", {}, ...(t.genres.length + t.subgenres.length ? isoList([...t.genres, ...t.subgenres]) : ["—"])),
        el("dt", { text: "Id" }), el("dd", { text: t.track_id })),
      spotifyLink(t),
      featureBars(t.features, null));
    card.id = "query-card";
    $("card").replaceChildren(card);
  }

  function spotifyLink(t) {
    if (!/^[A-Za-z0-9]{22}$/.test(t.track_id)) return null;
    return el("a", { href: "https://open.spotify.com/track/" + t.track_id, target: "_blank", rel: "noopener noreferrer",
      text: "Open in Spotify" });
  }

  function fraction(v, lo, hi) { return Math.max(0, Math.min(1, (v - lo) / (hi - lo))); }
  function fmt(v) { return Math.abs(v) >= 10 ? v.toFixed(0) : v.toFixed(2); }

  // Bars of the features f; with other, each bar pairs the query's
  // (upper, blue) with other's (lower, vermillion).
  function featureBars(q, other) {
    const box = el("div", { class: "bars" });
    for (const [name, lo, hi] of FEATURES) {
      const bar = el("div", { class: "bar" + (other ? " pair" : ""), role: "img" });
      const qs = el("span", { class: "q" });
      qs.style.width = (100 * fraction(q[name], lo, hi)) + "%";
      bar.append(qs);
      let label = fmt(q[name]);
      if (other) {
        const rs = el("span", { class: "r" });
        rs.style.width = (100 * fraction(other[name], lo, hi)) + "%";
        bar.append(rs);
        label = fmt(q[name]) + " / " + fmt(other[name]);
      }
      bar.setAttribute("aria-label", other ? name + ": query " + fmt(q[name]) + ", this track " + fmt(other[name]) : name + " " + fmt(q[name]));
      box.append(el("div", { text: name }), bar, el("div", { class: "v", "aria-hidden": "true", text: label }));
    }
    return box;
  }

  function renderResults() {
    const items = neighbours.map(({ result: r, track: t }) => {
      const open = el("button", { type: "button", "data-track": r.track_id, text: nameOf(r) });
      open.addEventListener("click", () => go(r.track_id));
      const head = el("div", { class: "result-head" }, open,
        el("span", {}, ...isoList(r.artists)),
        el("span", { class: "score", text: "score " + r.score.toFixed(3) }),
        t ? el("span", { class: "score", text: [year(t), "popularity " + t.popularity].filter(Boolean).join(" · ") }) : null);
      const li = el("li", { "data-track": r.track_id }, head);
      if (t && queryTrack) {
        li.append(el("details", {},
          el("summary", {}, "Features: ", el("span", { class: "key q" }), " query, ", el("span", { class: "key r" }), " this track"),
          featureBars(queryTrack.features, t.features)));
      }
      return li;
    });
    $("results").replaceChildren(...items);
  }

  // go makes id the query: a new history entry, then the view.
  function go(id) {
    state.track = id;
    writeURL(true);
    hideSuggestions();
    load();
  }

  // ---- search suggestions ----

  let suggestTimer = 0, suggestSeq = 0, active = -1;

  function hideSuggestions() {
    $("suggestions").hidden = true;
    $("search").setAttribute("aria-expanded", "false");
    $("search").removeAttribute("aria-activedescendant");
    active = -1;
  }

  function suggest() {
    clearTimeout(suggestTimer);
    suggestTimer = setTimeout(async () => {
      const text = $("search").value.trim();
      const seq = ++suggestSeq;
      if (!text || trackRef(text)) { hideSuggestions(); return; }
      try {
        const res = await api("tracks?q=" + encodeURIComponent(text) + "&k=10");
        if (seq !== suggestSeq) return;
        const list = $("suggestions");
        list.replaceChildren(...res.results.map((t, i) => {
          const li = el("li", { id: "suggestion-" + i, role: "option", "aria-selected": "false", "data-track": t.track_id },
            el("strong", {}, iso(nameOf(t))), " — ", ...isoList(t.artists), year(t) ? " (" + year(t) + ")" : null);
          li.addEventListener("mousedown", (ev) => { ev.preventDefault(); pick(t); });
          return li;
        }));
        if (!res.results.length) list.append(el("li", { role: "option", "aria-disabled": "true", text: "No track matches" }));
        list.hidden = false;
        $("search").setAttribute("aria-expanded", "true");
        active = -1;
      } catch (e) {
        setStatus(e.message, true);
      }
    }, 150);
  }

  function pick(t) {
    $("search").value = nameOf(t) + " — " + t.artists.join(", ");
    go(t.track_id);
  }

  function moveActive(delta) {
    const items = [...$("suggestions").querySelectorAll("li[data-track]")];
    if (!items.length) return;
    active = (active + delta + items.length) % items.length;
    items.forEach((li, i) => li.setAttribute("aria-selected", String(i === active)));
    $("search").setAttribute("aria-activedescendant", items[active].id);
    items[active].scrollIntoView({ block: "nearest" });
  }

  $("search").addEventListener("input", suggest);
  $("search").addEventListener("blur", () => setTimeout(hideSuggestions, 100));
  $("search").addEventListener("keydown", (ev) => {
    if (ev.key === "ArrowDown") { ev.preventDefault(); moveActive(1); }
    else if (ev.key === "ArrowUp") { ev.preventDefault(); moveActive(-1); }
    else if (ev.key === "Escape") hideSuggestions();
  });
  $("search-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    const items = [...$("suggestions").querySelectorAll("li[data-track]")];
    if (active >= 0 && items[active]) { go(items[active].dataset.track); return; }
    const ref = trackRef($("search").value);
    if (ref) { go(ref); return; }
    if (items.length) go(items[0].dataset.track);
    else suggest();
  });

  // ---- options ----

  $("options").addEventListener("change", () => {
    state.options = readOptions();
    writeURL(true);
    load();
  });
  $("options").addEventListener("submit", (ev) => ev.preventDefault());

  window.addEventListener("popstate", () => { readURL(); load(); loadUser(); });

  // ---- the map ----

  const mapView = (function () {
    const canvas = $("map"), tip = $("tooltip");
    const ctx = canvas.getContext("2d");
    let points = [];          // [{track_id, x, y, genre}]
    const byID = new Map();   // track_id → point
    let colours = new Map();  // genre → colour
    let query = null, near = new Set();
    let scale = 1, ox = 0, oy = 0; // view: screen = centre + (p * base * scale) + offset
    let hover = null, drag = null, moved = false;
    let ready = false;

    function size() {
      const r = canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio || 1;
      canvas.width = Math.max(1, Math.round(r.width * dpr));
      canvas.height = Math.max(1, Math.round(r.height * dpr));
      ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
      return r;
    }

    function base() {
      const r = canvas.getBoundingClientRect();
      return { w: r.width, h: r.height, s: Math.min(r.width, r.height) / 2 * 0.92 };
    }

    // toScreen maps a point to CSS pixels inside the canvas whose size is
    // b (from base: reading it per point would cost a layout query each).
    function toScreen(p, b) {
      return { x: b.w / 2 + p.x * b.s * scale + ox, y: b.h / 2 - p.y * b.s * scale + oy };
    }

    function draw() {
      const b = base();
      ctx.clearRect(0, 0, b.w, b.h);
      for (const p of points) {
        if (p === hover || near.has(p.track_id) || p.track_id === query) continue;
        const s = toScreen(p, b);
        if (s.x < -2 || s.y < -2 || s.x > b.w + 2 || s.y > b.h + 2) continue;
        ctx.fillStyle = colours.get(p.genre) || OTHER;
        ctx.fillRect(s.x - 1.5, s.y - 1.5, 3, 3);
      }
      for (const id of near) ring(byID.get(id), 5, "#D55E00", b);
      if (query) ring(byID.get(query), 8, "#0072B2", b);
      if (hover) ring(hover, 6, "#000", b);
    }

    function ring(p, r, colour, b) {
      if (!p) return;
      const s = toScreen(p, b);
      ctx.beginPath();
      ctx.arc(s.x, s.y, r, 0, 2 * Math.PI);
      ctx.fillStyle = colours.get(p.genre) || OTHER;
      ctx.fill();
      ctx.lineWidth = 2.5;
      ctx.strokeStyle = colour;
      ctx.stroke();
    }

    function add(ps) {
      for (const p of ps) {
        if (byID.has(p.track_id)) continue;
        byID.set(p.track_id, p);
        points.push(p);
      }
    }

    function legend() {
      const counts = new Map();
      for (const p of points) counts.set(p.genre, (counts.get(p.genre) || 0) + 1);
      const genres = [...counts.keys()].filter((g) => g).sort((a, b) => counts.get(b) - counts.get(a));
      colours = new Map(genres.slice(0, PALETTE.length).map((g, i) => [g, PALETTE[i]]));
      const items = genres.slice(0, PALETTE.length).map((g) => el("li", {}, keyOf(colours.get(g)), g));
      if (genres.length > PALETTE.length || counts.has("")) items.push(el("li", {}, keyOf(OTHER), "other"));
      items.push(el("li", {}, ringKey("#0072B2"), "query"), el("li", {}, ringKey("#D55E00"), "neighbours"));
      $("legend").replaceChildren(...items);
    }
    function keyOf(c) { const k = el("span", { class: "key" }); k.style.background = c; return k; }
    function ringKey(c) { const k = el("span", { class: "key" }); k.style.border = "2px solid " + c; k.style.borderRadius = "50%"; return k; }

    async function init() {
      size();
      try {
        const m = await api("map?sample=25000");
        add(m.points);
        legend();
        ready = true;
        $("map-panel").dataset.points = String(points.length);
        $("map-panel").dataset.total = String(m.total);
        await highlight(query, [...near]);
      } catch (e) {
        $("map-panel").querySelector(".hint").textContent = "No map: " + e.message;
      }
    }

    // highlight rings q and ids, fetching the points the sample lacks,
    // each id as an id= parameter of its own: ids= is split at commas,
    // which track ids may hold.
    async function highlight(q, ids) {
      query = q; near = new Set(ids);
      if (ready) {
        const want = [q, ...ids].filter((id) => id && !byID.has(id));
        if (want.length) {
          const p = new URLSearchParams([["sample", "0"], ...want.map((id) => ["id", id])]);
          try { add((await api("map?" + p.toString())).points); } catch (e) { /* drawn without them */ }
        }
      }
      draw();
    }

    function nearest(mx, my) {
      let best = null, bd = 64; // within 8 px
      const b = base();
      for (const p of points) {
        const s = toScreen(p, b);
        const d = (s.x - mx) ** 2 + (s.y - my) ** 2;
        if (d < bd) { bd = d; best = p; }
      }
      return best;
    }

    let tipSeq = 0;
    async function showTip(p, mx, my) {
      tip.hidden = false;
      tip.style.left = (mx + 12) + "px";
      tip.style.top = (my + 12) + "px";
      const genre = p.genre ? [" · ", iso(p.genre)] : [];
      tip.replaceChildren(iso(p.track_id), ...genre);
      tip.dataset.track = p.track_id;
      delete tip.dataset.name;
      const seq = ++tipSeq;
      try {
        const t = await trackOf(p.track_id);
        if (seq !== tipSeq || hover !== p) return;
        tip.replaceChildren(iso(nameOf(t)), " — ", ...isoList(t.artists), ...genre);
        tip.dataset.name = nameOf(t);
      } catch (e) { /* the id stays */ }
    }

    // trackOf fetches track id. An id that is a dot segment ("." or "..")
    // goes in the query: the browser would resolve it out of a path,
    // escaped or not, and ask for another resource.
    async function trackOf(id) {
      if (id !== "." && id !== "..") return api("tracks/" + encodeURIComponent(id));
      const res = await api("tracks?id=" + encodeURIComponent(id));
      if (!res.results.length) throw new Error("track " + id + " not found");
      return res.results[0];
    }

    function local(ev) {
      const r = canvas.getBoundingClientRect();
      return { x: ev.clientX - r.left, y: ev.clientY - r.top };
    }

    canvas.addEventListener("mousemove", (ev) => {
      const m = local(ev);
      if (drag) {
        ox = drag.ox + m.x - drag.x; oy = drag.oy + m.y - drag.y;
        moved = moved || Math.abs(m.x - drag.x) + Math.abs(m.y - drag.y) > 3;
        draw();
        return;
      }
      const p = nearest(m.x, m.y);
      if (p !== hover) {
        hover = p;
        draw();
        if (p) showTip(p, m.x, m.y); else tip.hidden = true;
      }
    });
    canvas.addEventListener("mouseleave", () => { hover = null; tip.hidden = true; drag = null; draw(); });
    canvas.addEventListener("mousedown", (ev) => { const m = local(ev); drag = { x: m.x, y: m.y, ox, oy }; moved = false; });
    canvas.addEventListener("mouseup", (ev) => {
      const wasDrag = moved; drag = null;
      if (wasDrag) return;
      const m = local(ev);
      const p = nearest(m.x, m.y);
      if (p) go(p.track_id);
    });
    function zoom(f, mx, my) {
      const b = base();
      // keep the point under (mx, my) in place
      ox = (ox - (mx - b.w / 2)) * f + (mx - b.w / 2);
      oy = (oy - (my - b.h / 2)) * f + (my - b.h / 2);
      scale *= f;
      draw();
    }
    canvas.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const m = local(ev);
      zoom(ev.deltaY < 0 ? 1.25 : 0.8, m.x, m.y);
    }, { passive: false });
    canvas.addEventListener("keydown", (ev) => {
      const b = base(), step = 40;
      const keys = { "+": () => zoom(1.25, b.w / 2, b.h / 2), "=": () => zoom(1.25, b.w / 2, b.h / 2), "-": () => zoom(0.8, b.w / 2, b.h / 2),
        ArrowLeft: () => { ox += step; draw(); }, ArrowRight: () => { ox -= step; draw(); },
        ArrowUp: () => { oy += step; draw(); }, ArrowDown: () => { oy -= step; draw(); },
        "0": () => { scale = 1; ox = 0; oy = 0; draw(); } };
      if (keys[ev.key]) { ev.preventDefault(); keys[ev.key](); }
    });
    window.addEventListener("resize", () => { size(); draw(); });

    // screenOf is where track id is drawn, in page coordinates (for tests
    // and for anyone scripting the page); null when it is not on the map.
    function screenOf(id) {
      const p = byID.get(id);
      if (!p) return null;
      const s = toScreen(p, base()), r = canvas.getBoundingClientRect();
      return { x: r.left + s.x, y: r.top + s.y };
    }
    return { init, highlight, screenOf, ids: () => points.map((p) => p.track_id) };
  })();

  // ---- a user ----

  let userSeq = 0; // drops answers to superseded user views

  async function loadUser() {
    const view = $("user-view");
    const seq = ++userSeq, user = state.user;
    if (!user) { view.replaceChildren(); delete view.dataset.user; return; }
    // A user id "." or ".." cannot be a segment of users/{id}/…: the
    // browser's URL parser resolves it as a dot segment, escaped as %2E
    // too, and the request would go to another resource. The page says so
    // and asks for nothing.
    if (user === "." || user === "..") {
      const escaped = user.replace(/\./g, "%2E");
      view.replaceChildren(el("p", { class: "hint", text: "User id \u201c" + user + "\u201d cannot be asked for from a browser: " +
        "its URL parser removes \u201c" + user + "\u201d from the path users/" + user + "/history, even escaped as " + escaped +
        ". The API answers a client that sends the path as written: curl \u2026/users/" + escaped + "/history." }));
      view.dataset.user = user;
      return;
    }
    const u = encodeURIComponent(user);
    const [hist, rec] = await Promise.allSettled([api("users/" + u + "/history?limit=50"), api("users/" + u + "/recommend?k=20")]);
    if (seq !== userSeq) return;
    const col = (title, body) => el("div", {}, el("h3", { text: title }), body);
    const trackItem = (t, extra) => {
      const b = el("button", { type: "button", class: "link", text: nameOf(t) });
      b.addEventListener("click", () => go(t.track_id));
      return el("li", { "data-track": t.track_id }, b, " — ", ...isoList(t.artists || []), extra ? " · " + extra : null);
    };
    const histBody = hist.status === "fulfilled"
      ? el("ol", {}, ...hist.value.interactions.map((i) => i.track
        ? trackItem(i.track, i.action + " " + (i.time || "").slice(0, 10))
        : el("li", { "data-track": i.track_id, text: i.track_id + " (deleted from the catalogue) · " + i.action + " " + (i.time || "").slice(0, 10) })))
      : el("p", { class: "hint", text: hist.reason.message });
    const recBody = rec.status === "fulfilled"
      ? el("ol", {}, ...rec.value.results.map((r) => trackItem(r, "score " + r.score.toFixed(3))))
      : el("p", { class: "hint", text: rec.reason.message });
    // The page shows the newest 50; the title says when there are more.
    const histTitle = hist.status !== "fulfilled" ? "History"
      : hist.value.total > hist.value.interactions.length
        ? "Recent history (newest " + hist.value.interactions.length + " of " + hist.value.total + ")"
        : "History (" + hist.value.total + ")";
    view.replaceChildren(el("div", { class: "cols" }, col(histTitle, histBody), col("Recommended" + (rec.status === "fulfilled" && rec.value.strategy ? " (" + rec.value.strategy + ")" : ""), recBody)));
    view.dataset.user = user;
  }

  $("user-form").addEventListener("submit", (ev) => {
    ev.preventDefault();
    state.user = $("user-id").value.trim();
    writeURL(true);
    loadUser();
  });

  // ---- the model ----

  async function loadModel() {
    const box = $("model");
    let m;
    try { m = await api("model"); } catch (e) { box.replaceChildren(el("p", { class: "hint", text: e.message })); return; }
    const parts = [el("div", { class: "card" }, el("dl", {},
      el("dt", { text: "Version" }), el("dd", { text: m.version }),
      el("dt", { text: "Trained" }), el("dd", { text: (m.created || "").replace("T", " ").slice(0, 19) }),
      el("dt", { text: "Dimension" }), el("dd", { text: String(m.dim) }),
      el("dt", { text: "Tracks indexed" }), el("dd", { text: String(m.index_size) })))];
    // metrics and history are what the model was saved with: the
    // trainer's shape is drawn, and whatever else is skipped.
    const met = m.metrics;
    const rows = [["model", "this model"], ["raw_features", "raw features"], ["same_artist", "same artist"], ["random", "random"]];
    if (isObject(met) && isObject(met.model)) {
      const num = (v) => el("td", { class: "num", text: isNumber(v) ? v.toFixed(4) : "—" });
      parts.push(el("table", { "aria-label": "Evaluation against baselines" },
        el("caption", { text: "Held-out users, k = " + met.k + ", " + met.queries + " queries" }),
        el("thead", {}, el("tr", {}, el("th", { text: "ranker" }), el("th", { text: "precision@k" }), el("th", { text: "recall@k" }), el("th", { text: "genre precision" }))),
        el("tbody", {}, ...rows.filter(([k]) => isObject(met[k])).map(([k, label]) =>
          el("tr", {}, el("th", { text: label }), num(met[k].precision), num(met[k].recall), num(met[k].genre_precision))))));
    }
    const epochs = isObject(m.history) && Array.isArray(m.history.epochs) ? m.history.epochs : [];
    const drawn = (series) => series.filter(([f]) => epochs.length && epochs.every((e) => isObject(e) && isNumber(e[f])));
    const curves = [
      ["Loss per epoch", drawn([["loss", "#0072B2", "training"], ["val_loss", "#D55E00", "validation"]])],
      ["Validation precision@k per epoch", drawn([["val_precision_at_k", "#009E73", "precision@k"]])],
    ].filter(([, series]) => series.length);
    if (curves.length) {
      for (const [title, series] of curves) parts.push(curve(title, epochs, series));
    } else {
      parts.push(el("p", { class: "hint", text: "No training curves were recorded with this model." }));
    }
    box.replaceChildren(...parts);
    box.querySelectorAll("canvas.curve").forEach((c) => c.draw());
  }

  function isObject(v) { return v !== null && typeof v === "object" && !Array.isArray(v); }
  function isNumber(v) { return typeof v === "number" && Number.isFinite(v); }

  // curve is a small line chart of series (field, colour, label) over epochs.
  function curve(title, epochs, series) {
    const c = el("canvas", { class: "curve", role: "img",
      "aria-label": title + ": " + series.map(([f, , l]) => l + " from " + epochs[0][f].toFixed(3) + " to " + epochs[epochs.length - 1][f].toFixed(3)).join("; ") });
    c.draw = () => {
      const r = c.getBoundingClientRect(), dpr = window.devicePixelRatio || 1;
      c.width = r.width * dpr; c.height = r.height * dpr;
      const g = c.getContext("2d");
      g.setTransform(dpr, 0, 0, dpr, 0, 0);
      const pad = { l: 44, r: 8, t: 8, b: 22 }, w = r.width - pad.l - pad.r, h = r.height - pad.t - pad.b;
      const vals = epochs.flatMap((e) => series.map(([f]) => e[f]));
      let lo = Math.min(...vals), hi = Math.max(...vals);
      if (hi === lo) { hi += 1; lo -= 1; }
      const X = (i) => pad.l + (epochs.length === 1 ? w / 2 : (i / (epochs.length - 1)) * w);
      const Y = (v) => pad.t + (1 - (v - lo) / (hi - lo)) * h;
      g.strokeStyle = "#999"; g.lineWidth = 1; g.strokeRect(pad.l, pad.t, w, h);
      g.fillStyle = "#333"; g.font = "11px system-ui, sans-serif";
      g.fillText(hi.toFixed(3), 2, pad.t + 9); g.fillText(lo.toFixed(3), 2, pad.t + h);
      g.fillText("epoch 1", pad.l, r.height - 6); g.fillText(String(epochs.length), pad.l + w - 14, r.height - 6);
      for (const [f, colour] of series) {
        g.strokeStyle = colour; g.lineWidth = 2; g.beginPath();
        epochs.forEach((e, i) => (i ? g.lineTo(X(i), Y(e[f])) : g.moveTo(X(i), Y(e[f]))));
        g.stroke();
      }
    };
    const legend = el("p", { class: "hint" }, ...series.flatMap(([, colour, label]) => { const k = el("span", { class: "key" }); k.style.background = colour; return [k, " " + label + "  "]; }));
    return el("figure", {}, el("figcaption", { text: title }), c, legend);
  }

  // ---- start ----

  readURL();
  writeURL(false);
  // The neighbours first: the map's sample is the largest answer, so it
  // is asked for once they are listed.
  load().finally(() => mapView.init());
  loadUser();
  loadModel();
  window.soundalikeExplorer = { screenOf: mapView.screenOf, mapIDs: mapView.ids };
})();
