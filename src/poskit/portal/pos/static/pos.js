// poskit browser POS: the face of a POS machine whose brain is the real terminal engine on the server.
// The page only shows what the server sends and sends back key presses, card presentations and
// signatures. PIN keys go to the server one by one; the page draws the asterisks the server counts
// and never keeps the digits.
"use strict";

(function () {
  const data = JSON.parse(document.getElementById("pos-data").textContent);
  const M = (id) => data.messages[id] || id;
  const $ = (id) => document.getElementById(id);
  const screen = $("screen");
  const titleEl = $("title");
  const bodyEl = $("body");
  const messageEl = $("message");
  const hintEl = $("hint");
  const slotEl = $("slot");
  const receiptsEl = $("receipts");
  const sigDialog = $("signature");
  const canvas = $("sig-canvas");

  let socket = null;
  let menu = data.menu.map((m) => ({ ...m, enabled: false }));
  let currency = "CNY";
  let mode = "boot"; // boot | idle | busy | prompt | result | fatal
  let prompt = null; // the open question {id, kind, ...}
  let typed = ""; // amount, text or menu-number being typed (never the PIN)
  let pinLength = 0;

  // ------------------------------------------------------------------ connection
  function connect() {
    const scheme = location.protocol === "https:" ? "wss://" : "ws://";
    socket = new WebSocket(scheme + location.host + data.ws);
    socket.addEventListener("message", (ev) => handle(JSON.parse(ev.data)));
    socket.addEventListener("close", () => {
      if (mode !== "fatal") fatal(M("Connection lost: reload the page"));
    });
    socket.addEventListener("open", reportBattery);
  }

  function narrow() {
    return window.matchMedia("(max-width: 720px)").matches;
  }

  function send(event) {
    if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(event));
  }

  function answer(extra) {
    if (!prompt) return;
    send({ t: "answer", id: prompt.id, ...extra });
  }

  // ------------------------------------------------------------------ server events
  function handle(ev) {
    switch (ev.t) {
      case "hello":
        currency = ev.currency || currency;
        menu = ev.menu;
        break;
      case "status":
        showStatus(ev);
        break;
      case "idle":
        menu = ev.menu || menu;
        prompt = null;
        if (mode !== "result") showMenu();
        break;
      case "busy":
        prompt = null;
        setMode("busy");
        titleEl.textContent = ev.title || "";
        bodyEl.innerHTML = '<div class="spinner" aria-hidden="true"></div>';
        messageEl.textContent = M("Working...");
        messageEl.dataset.level = "info";
        hintEl.textContent = "";
        break;
      case "display":
        messageEl.textContent = ev.text;
        messageEl.dataset.level = ev.level || "info";
        break;
      case "prompt":
        openPrompt(ev);
        break;
      case "prompt_end":
        if (prompt && prompt.id === ev.id) closePrompt();
        break;
      case "pin":
        if (prompt && prompt.id === ev.id) {
          pinLength = ev.length;
          renderPin(ev.short);
        }
        break;
      case "result":
        showResult(ev);
        break;
      case "receipt":
        printReceipt(ev);
        break;
      case "card_in":
        slotEl.dataset.state = ev.entry;
        slotEl.textContent = ev.card + " · " + M(ev.entry === "chip" ? "Insert" : ev.entry === "tap" ? "Tap" : "Swipe");
        break;
      case "card_out":
        slotEl.dataset.state = "empty";
        slotEl.textContent = M("Card slot empty");
        break;
      case "fatal":
        fatal(ev.message);
        break;
    }
  }

  function setMode(next) {
    mode = next;
    screen.dataset.mode = next;
    if (next !== "prompt") {
      delete screen.dataset.prompt;
      document.body.classList.remove("want-card");
    }
  }

  function showStatus(ev) {
    const net = $("net");
    net.dataset.state = ev.network === true ? "online" : ev.network === false ? "offline" : "unknown";
    net.title = ev.network === false ? M("offline") : M("online");
    const bat = $("battery");
    const pct = typeof ev.battery === "number" ? ev.battery : null;
    bat.dataset.charging = ev.charging ? "true" : "false";
    bat.dataset.low = pct !== null && pct < 15 ? "true" : "false";
    bat.querySelector(".level").style.width = (pct === null ? 100 : pct) + "%";
    bat.querySelector(".pct").textContent = pct === null ? "AC" : pct + "%";
    bat.title = (pct === null ? "" : pct + "% ") + (ev.charging ? M("charging") : "");
    $("operator").textContent = ev.operator ? M("Operator") + " " + ev.operator : M("not signed in");
  }

  // ------------------------------------------------------------------ idle menu and results
  function showMenu() {
    setMode("idle");
    titleEl.textContent = M("Menu");
    typed = "";
    const list = document.createElement("ol");
    list.className = "menu";
    menu.forEach((item, i) => {
      const li = document.createElement("li");
      const btn = document.createElement("button");
      btn.type = "button";
      btn.dataset.menu = item.key;
      btn.disabled = !item.enabled;
      btn.innerHTML = '<span class="n"></span><span class="label"></span>';
      btn.querySelector(".n").textContent = String(i + 1);
      btn.querySelector(".label").textContent = item.label;
      btn.addEventListener("click", () => choose(item.key));
      li.appendChild(btn);
      list.appendChild(li);
    });
    bodyEl.replaceChildren(list);
    messageEl.textContent = "";
    hintEl.textContent = "";
  }

  function choose(key) {
    const item = menu.find((m) => m.key === key);
    if (mode !== "idle" && mode !== "result") return;
    if (!item || !item.enabled) return;
    setMode("busy");
    send({ t: "menu", key: key });
  }

  function showResult(ev) {
    setMode("result");
    prompt = null;
    screen.dataset.status = ev.status;
    const word = ev.status === "approved" ? M("Approved") : ev.status === "declined" ? M("Declined") : M("Failed");
    titleEl.textContent = (ev.title ? ev.title + " · " : "") + word;
    const box = document.createElement("div");
    box.className = "result " + ev.status;
    const msg = document.createElement("p");
    msg.className = "result-message";
    msg.textContent = ev.message || "";
    box.appendChild(msg);
    if (ev.rows && ev.rows.length) {
      const dl = document.createElement("dl");
      ev.rows.forEach(([k, v]) => {
        const dt = document.createElement("dt");
        dt.textContent = k;
        const dd = document.createElement("dd");
        dd.textContent = v;
        dl.append(dt, dd);
      });
      box.appendChild(dl);
    }
    bodyEl.replaceChildren(box);
    messageEl.textContent = "";
    hintEl.textContent = M("Press any key");
  }

  function fatal(text) {
    setMode("fatal");
    prompt = null;
    titleEl.textContent = "";
    bodyEl.replaceChildren();
    messageEl.textContent = text;
    messageEl.dataset.level = "error";
    hintEl.textContent = "";
  }

  // ------------------------------------------------------------------ questions
  function openPrompt(ev) {
    prompt = ev;
    typed = "";
    pinLength = 0;
    setMode("prompt");
    screen.dataset.prompt = ev.kind;
    delete screen.dataset.status;
    messageEl.textContent = "";
    titleEl.textContent = ev.prompt;
    bodyEl.replaceChildren();
    hintEl.textContent = "";
    if (ev.kind === "amount") renderAmount();
    else if (ev.kind === "text") renderText();
    else if (ev.kind === "confirm") hintEl.textContent = M("Enter = yes, Cancel = no");
    else if (ev.kind === "choose") renderChoices();
    else if (ev.kind === "pin") renderPin(false);
    else if (ev.kind === "card") {
      document.body.classList.add("want-card");
      document.querySelectorAll(".testcard button").forEach((b) => {
        b.classList.toggle("advised", !!ev.hint && b.dataset.entry === ev.hint);
        b.disabled = !(ev.allowed || []).includes(b.dataset.entry);
      });
      hintEl.textContent = M("Present a card from the card book");
      if (narrow()) $("cardbook").scrollIntoView({ behavior: "smooth", block: "start" });
    } else if (ev.kind === "signature") openSignature(ev);
  }

  function closePrompt() {
    if (prompt && prompt.kind === "signature" && sigDialog.open) sigDialog.close();
    prompt = null;
    typed = "";
    pinLength = 0;
    if (mode === "prompt") {
      setMode("busy");
      bodyEl.innerHTML = '<div class="spinner" aria-hidden="true"></div>';
      hintEl.textContent = "";
    }
  }

  function formatAmount(digits) {
    const exp = prompt && typeof prompt.exponent === "number" ? prompt.exponent : 2;
    const d = (digits || "0").replace(/^0+(?=\d)/, "").padStart(exp + 1, "0");
    const whole = d.slice(0, d.length - exp).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
    return exp ? whole + "." + d.slice(d.length - exp) : whole;
  }

  function plainAmount(digits) {
    const exp = prompt && typeof prompt.exponent === "number" ? prompt.exponent : 2;
    const d = (digits || "0").replace(/^0+(?=\d)/, "").padStart(exp + 1, "0");
    return exp ? d.slice(0, d.length - exp) + "." + d.slice(d.length - exp) : d;
  }

  function renderAmount() {
    const el = document.createElement("div");
    el.className = "amount";
    el.id = "amount";
    el.textContent = (prompt.currency || currency) + " " + formatAmount(typed);
    bodyEl.replaceChildren(el);
    hintEl.textContent = M("Enter to confirm");
  }

  function renderText() {
    const input = document.createElement("input");
    input.id = "entry";
    input.className = "entry";
    input.autocomplete = "off";
    input.maxLength = prompt.max || 32;
    input.type = prompt.secret ? "password" : "text";
    if (prompt.digits) input.inputMode = "numeric";
    input.value = typed;
    input.addEventListener("input", () => {
      let v = input.value;
      if (prompt && prompt.digits) v = v.replace(/\D/g, "");
      input.value = v;
      typed = v;
    });
    input.addEventListener("keydown", (e) => {
      if (e.key === "Enter") {
        e.preventDefault();
        e.stopPropagation();
        press("enter");
      } else if (e.key === "Escape") {
        e.preventDefault();
        e.stopPropagation();
        press("cancel");
      }
    });
    bodyEl.replaceChildren(input);
    hintEl.textContent = M("Enter to confirm");
    if (window.matchMedia("(pointer: fine)").matches) input.focus();
  }

  function renderChoices() {
    const list = document.createElement("ol");
    list.className = "menu choices";
    (prompt.options || []).forEach((text, i) => {
      const li = document.createElement("li");
      const btn = document.createElement("button");
      btn.type = "button";
      btn.dataset.choice = String(i);
      btn.innerHTML = '<span class="n"></span><span class="label"></span>';
      btn.querySelector(".n").textContent = String(i + 1);
      btn.querySelector(".label").textContent = text;
      btn.addEventListener("click", () => answer({ value: i }));
      li.appendChild(btn);
      list.appendChild(li);
    });
    bodyEl.replaceChildren(list);
  }

  function renderPin(short) {
    const el = document.createElement("div");
    el.className = "pin";
    el.id = "pin";
    el.setAttribute("aria-label", pinLength + " digits");
    el.textContent = pinLength ? "*".repeat(pinLength) : "_";
    bodyEl.replaceChildren(el);
    hintEl.textContent = short ? M("PIN too short") : M("Enter with no digits to bypass");
  }

  // ------------------------------------------------------------------ keys
  function press(key) {
    if (mode === "result") {
      showMenu();
      return;
    }
    if (mode === "idle") return idleKey(key);
    if (mode !== "prompt" || !prompt) return;
    const kind = prompt.kind;
    if (key === "cancel") return answer({ cancel: true });
    if (kind === "pin") {
      // Each PIN key goes straight to the PIN pad on the server; "00" is two presses.
      if (key === "00") {
        answer({ key: "0" });
        answer({ key: "0" });
      } else answer({ key: key });
      return;
    }
    if (kind === "confirm") {
      if (key === "enter") answer({ value: true });
      return;
    }
    if (kind === "choose") {
      const n = parseInt(key, 10);
      if (n >= 1 && n <= (prompt.options || []).length) answer({ value: n - 1 });
      return;
    }
    if (kind === "amount" || kind === "text") {
      const max = kind === "amount" ? 12 : prompt.max || 32;
      if (/^\d+$/.test(key)) typed = (typed + key).slice(0, max);
      else if (key === "back") typed = typed.slice(0, -1);
      else if (key === "clear") typed = "";
      else if (key === "enter") {
        answer({ value: kind === "amount" ? plainAmount(typed) : typed });
        return;
      }
      if (kind === "amount") renderAmount();
      else {
        const input = $("entry");
        if (input) input.value = typed;
      }
    }
  }

  function idleKey(key) {
    if (/^\d+$/.test(key)) {
      typed = (typed + key).slice(-2);
      hintEl.textContent = "→ " + typed;
    } else if (key === "back" || key === "clear" || key === "cancel") {
      typed = "";
      hintEl.textContent = "";
    } else if (key === "enter") {
      const n = parseInt(typed, 10);
      typed = "";
      hintEl.textContent = "";
      if (n >= 1 && n <= menu.length) choose(menu[n - 1].key);
      else choose("sale");
    } else if (key === "menu") showMenu();
  }

  document.querySelectorAll("#keypad [data-key], .fkeys [data-key]").forEach((btn) => {
    btn.addEventListener("click", () => press(btn.dataset.key));
  });
  document.querySelectorAll(".fkeys [data-fn]").forEach((btn) => {
    btn.addEventListener("click", () => {
      if (mode === "result") showMenu();
      choose(btn.dataset.fn);
    });
  });
  document.addEventListener("keydown", (e) => {
    if (e.target && e.target.tagName === "INPUT") return;
    if (sigDialog.open) return;
    const map = { Enter: "enter", Escape: "cancel", Backspace: "back", Delete: "clear" };
    const key = /^\d$/.test(e.key) ? e.key : map[e.key];
    if (key) {
      e.preventDefault();
      press(key);
    }
  });

  // ------------------------------------------------------------------ card book
  document.querySelectorAll(".testcard").forEach((li) => {
    li.querySelectorAll("button[data-entry]").forEach((btn) => {
      btn.addEventListener("click", () => {
        if (!prompt || prompt.kind !== "card") {
          messageEl.textContent = M("Start a sale first");
          return;
        }
        li.classList.add("presented-" + btn.dataset.entry);
        setTimeout(() => li.classList.remove("presented-" + btn.dataset.entry), 900);
        answer({ card: li.dataset.card, entry: btn.dataset.entry });
        if (narrow()) screen.scrollIntoView({ behavior: "smooth", block: "center" });
      });
    });
  });

  // ------------------------------------------------------------------ printer
  function printReceipt(ev) {
    const paper = document.createElement("article");
    paper.className = "receipt" + (ev.reprint ? " reprint" : "");
    paper.dataset.copy = ev.copy;
    paper.dataset.voucher = String(ev.voucher);
    const pre = document.createElement("pre");
    pre.textContent = ev.text;
    const tear = document.createElement("button");
    tear.type = "button";
    tear.className = "tear";
    tear.textContent = M("Tear off");
    tear.addEventListener("click", () => paper.remove());
    paper.append(pre);
    if (ev.qr) {
      const qr = document.createElement("img");
      qr.className = "qr";
      qr.src = ev.qr;
      qr.alt = M("Scan for the e-receipt");
      paper.append(qr);
    }
    paper.append(tear);
    receiptsEl.prepend(paper);
    while (receiptsEl.children.length > 4) receiptsEl.lastElementChild.remove();
  }

  // ------------------------------------------------------------------ signature pad
  const ctx = canvas.getContext("2d");
  let drawing = false;
  let inked = false;

  function resetCanvas() {
    ctx.fillStyle = "#fff"; // white, not transparent: the terminal turns it into a bilevel image
    ctx.fillRect(0, 0, canvas.width, canvas.height);
    ctx.strokeStyle = "#000";
    ctx.lineWidth = 3;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    inked = false;
    $("sig-done").disabled = true;
  }

  function point(e) {
    const r = canvas.getBoundingClientRect();
    return [((e.clientX - r.left) * canvas.width) / r.width, ((e.clientY - r.top) * canvas.height) / r.height];
  }

  canvas.addEventListener("pointerdown", (e) => {
    drawing = true;
    canvas.setPointerCapture(e.pointerId);
    const [x, y] = point(e);
    ctx.beginPath();
    ctx.moveTo(x, y);
  });
  canvas.addEventListener("pointermove", (e) => {
    if (!drawing) return;
    const [x, y] = point(e);
    ctx.lineTo(x, y);
    ctx.stroke();
    inked = true;
    $("sig-done").disabled = false;
  });
  const stop = () => (drawing = false);
  canvas.addEventListener("pointerup", stop);
  canvas.addEventListener("pointercancel", stop);

  function openSignature(ev) {
    resetCanvas();
    $("sig-title").textContent = ev.prompt || M("Sign here");
    const code = ev.feature_code ? M("Feature code") + " " + ev.feature_code : "";
    $("sig-context").textContent = [ev.voucher, ev.amount, ev.card, code].filter(Boolean).join(" · ");
    hintEl.textContent = M("Sign here");
    if (!sigDialog.open) sigDialog.showModal();
  }

  $("sig-clear").addEventListener("click", resetCanvas);
  $("sig-skip").addEventListener("click", () => {
    answer({ cancel: true });
    sigDialog.close();
  });
  $("sig-done").addEventListener("click", () => {
    if (!inked) return;
    answer({ png: canvas.toDataURL("image/png") });
    sigDialog.close();
  });
  sigDialog.addEventListener("cancel", (e) => {
    e.preventDefault(); // Escape must not lose the question: Skip says it explicitly
  });

  // ------------------------------------------------------------------ battery and clock
  function reportBattery() {
    if (!navigator.getBattery) return;
    navigator.getBattery().then((b) => {
      const report = () => send({ t: "battery", percent: Math.round(b.level * 100), charging: b.charging });
      report();
      b.addEventListener("levelchange", report);
      b.addEventListener("chargingchange", report);
    });
  }

  // the terminal's clock: the merchant's zone (data-zone), named, not the browser's own zone
  function clockFormat() {
    const options = { hour: "2-digit", minute: "2-digit", hourCycle: "h23", timeZoneName: "short" };
    try {
      return new Intl.DateTimeFormat("en-GB", { ...options, timeZone: $("clock").dataset.zone || undefined });
    } catch (e) {
      return new Intl.DateTimeFormat("en-GB", options); // an unknown zone: the browser's, still named
    }
  }
  const clock = clockFormat();
  function tick() {
    $("clock").textContent = clock.format(new Date());
  }
  tick();
  setInterval(tick, 10000);

  connect();
})();
