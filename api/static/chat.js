// chatpay web chat. Plain JavaScript, no build step, no third-party code.
//
// The page talks only to its own origin (the conversation API, see api/routes/conversations.py).
// Card details are typed into the payment gateway's own iframe: this script never sees them, it only
// receives a token from that frame by postMessage. Every piece of server data is put into the page
// with textContent / setAttribute, never as HTML.
"use strict";
(() => {
  const STORE_KEY = "chatpay.conversation"; // sessionStorage: {id, token, touched}
  const LANG_KEY = "chatpay.lang"; // localStorage: the shopper's UI language

  const TEXT = {
    en: {
      tagline: "Shop and pay right here in the chat",
      language: "Language",
      new_chat: "New chat",
      conversation: "Conversation",
      message_label: "Message",
      placeholder: "Ask for a product…",
      send: "Send",
      footnote: "Card details go only to the payment company's secure frame; this shop never sees your card number.",
      typing: "The assistant is typing",
      try_these: "Try:",
      suggestions: ["Do you have green tea?", "Coffee beans", "A mug"],
      err_network: "Could not reach the shop. Check your connection and try again.",
      err_server: "Something went wrong on our side. Please try again in a moment.",
      err_rate: "That was a lot at once. Please wait a moment and try again.",
      err_session: "This chat has expired. Please start a new chat.",
      err_generic: "That did not work. Please try again.",
      retry: "Try again",
      lang_note: "This chat continues in English. Start a new chat to shop in 日本語.",
      add: "Add", adding: "Adding…", sold_out: "Sold out", few_left: "Only {n} left",
      reduced_rate: "8% reduced rate",
      cart: "Your cart", cart_empty: "Your cart is empty.", remove: "Remove",
      remove_item: "Remove {name}", checkout: "Checkout",
      subtotal: "Subtotal", shipping: "Shipping", free: "Free", payment_fee: "Payment fee",
      tax: "incl. tax {rate}%", total: "Total",
      address: "Delivery address", address_hint: "Prefecture and city are filled in from the postal code; you may leave them empty.",
      f_name: "Full name", f_postal_code: "Postal code", f_prefecture: "Prefecture", f_city: "City / ward",
      f_line1: "Street address", f_line2: "Building, room (optional)", f_phone: "Phone", f_email: "E-mail",
      ph_postal_code: "150-0002", ph_line1: "2-21-1", ph_phone: "090-1234-5678",
      save_address: "Use this address", saving: "Saving…", check_fields: "Please check the highlighted fields.",
      field_invalid: "Please check this field.", address_saved: "Address saved.", form_closed: "This form is closed.",
      pay_with: "Payment method", no_fee: "No fee", fee: "Fee {fee}",
      m_card: "Credit card", m_after_delivery: "Pay after delivery", m_konbini: "Convenience store",
      d_card: "Visa, Mastercard, JCB, Amex — in this chat",
      d_after_delivery: "Invoice comes with the goods (credit check)",
      d_konbini: "Pay at the store within 3 days; we ship after payment",
      r_over_limit: "Not available for this order amount", r_other: "Not available for this order",
      card_title: "Card details", secure: "Secure", card_secure: "Secure form of the payment company. This shop never sees your card number.",
      card_frame: "Secure card form", loading: "Loading secure form…", checking_card: "Checking card {card}…",
      card_saved: "Card {card} saved.",
      confirm_title: "Review your order", deliver_to: "Deliver to", method: "Payment",
      pay: "Pay {total}", paying: "Processing…", pay_note_after_delivery: "You pay {total} after the goods arrive.",
      pay_note_konbini: "You get a slip to pay {total} at a convenience store.",
      confirm_stale: "This confirmation was replaced.", review_again: "Review the order again",
      threeds_title: "3-D Secure", threeds_frame: "Card issuer verification", verifying: "Finishing verification…",
      threeds_closed: "Verification closed.",
      receipt_paid: "Payment complete", receipt_deferred_approved: "Order placed — pay after delivery",
      receipt_awaiting_screening: "Order placed — under review", receipt_other: "Your order",
      order_no: "Order number",
      s_paid: "Paid", s_deferred_approved: "Approved · invoice with delivery", s_awaiting_screening: "Under review",
      s_awaiting_store_payment: "Awaiting store payment",
      slip_title: "Convenience-store payment slip", slip_chain: "Store", slip_number: "Payment number",
      slip_confirmation: "Confirmation number", slip_deadline: "Pay by", slip_amount: "Amount",
      slip_how: "How to pay", slip_note: "We ship once the payment arrives.",
      chains: {
        seven_eleven: "7-Eleven", familymart: "FamilyMart", lawson: "Lawson", ministop: "Ministop",
        seicomart: "Seicomart"
      }
    },
    ja: {
      tagline: "チャットの中でお買い物からお支払いまで",
      language: "言語",
      new_chat: "新しいチャット",
      conversation: "会話",
      message_label: "メッセージ",
      placeholder: "商品名やご質問を入力…",
      send: "送信",
      footnote: "カード情報は決済会社の安全なフォームにのみ送られます。当店がカード番号を見ることはありません。",
      typing: "アシスタントが入力中",
      try_these: "例：",
      suggestions: ["緑茶はありますか？", "コーヒー豆", "マグカップ"],
      err_network: "ショップに接続できませんでした。通信環境をご確認のうえ、もう一度お試しください。",
      err_server: "システムで問題が発生しました。しばらくしてからもう一度お試しください。",
      err_rate: "操作が集中しています。少し待ってからもう一度お試しください。",
      err_session: "このチャットは有効期限が切れました。新しいチャットを開始してください。",
      err_generic: "処理できませんでした。もう一度お試しください。",
      retry: "再試行",
      lang_note: "このチャットは英語のまま続きます。日本語でお買い物するには新しいチャットを開始してください。",
      add: "追加", adding: "追加中…", sold_out: "売り切れ", few_left: "残り{n}点",
      reduced_rate: "軽減税率8%",
      cart: "カート", cart_empty: "カートは空です。", remove: "削除",
      remove_item: "{name}を削除", checkout: "レジに進む",
      subtotal: "小計", shipping: "送料", free: "無料", payment_fee: "決済手数料",
      tax: "内消費税（{rate}%）", total: "合計",
      address: "お届け先", address_hint: "都道府県・市区町村は郵便番号から自動で入力されます（空欄のままで構いません）。",
      f_name: "お名前", f_postal_code: "郵便番号", f_prefecture: "都道府県", f_city: "市区町村",
      f_line1: "番地", f_line2: "建物名・部屋番号（任意）", f_phone: "電話番号", f_email: "メールアドレス",
      ph_postal_code: "150-0002", ph_line1: "2-21-1", ph_phone: "090-1234-5678",
      save_address: "この住所に届ける", saving: "保存中…", check_fields: "入力内容をご確認ください。",
      field_invalid: "この項目をご確認ください。", address_saved: "お届け先を保存しました。", form_closed: "このフォームは終了しました。",
      pay_with: "お支払い方法", no_fee: "手数料無料", fee: "手数料 {fee}",
      m_card: "クレジットカード", m_after_delivery: "後払い", m_konbini: "コンビニ払い",
      d_card: "Visa・Mastercard・JCB・Amex（このチャット内で完了）",
      d_after_delivery: "商品と一緒に請求書が届きます（与信審査あり）",
      d_konbini: "3日以内に店頭でお支払い。入金確認後に発送します",
      r_over_limit: "このご注文金額ではご利用いただけません", r_other: "このご注文ではご利用いただけません",
      card_title: "カード情報", secure: "安全", card_secure: "決済会社の安全な入力フォームです。当店がカード番号を見ることはありません。",
      card_frame: "カード情報入力フォーム", loading: "安全なフォームを読み込み中…", checking_card: "カード {card} を確認中…",
      card_saved: "カード {card} を登録しました。",
      confirm_title: "ご注文内容の確認", deliver_to: "お届け先", method: "お支払い方法",
      pay: "{total} を支払う", paying: "処理中…", pay_note_after_delivery: "商品到着後に {total} をお支払いいただきます。",
      pay_note_konbini: "コンビニで {total} をお支払いいただく払込票を発行します。",
      confirm_stale: "この確認内容は更新されました。", review_again: "注文内容を確認し直す",
      threeds_title: "3-Dセキュア（本人認証）", threeds_frame: "カード会社の本人認証", verifying: "認証結果を確認中…",
      threeds_closed: "本人認証は終了しました。",
      receipt_paid: "お支払い完了", receipt_deferred_approved: "ご注文完了（後払い）",
      receipt_awaiting_screening: "ご注文受付（後払い審査中）", receipt_other: "ご注文",
      order_no: "注文番号",
      s_paid: "お支払い済み", s_deferred_approved: "後払い承認済み・請求書は商品に同封", s_awaiting_screening: "審査中",
      s_awaiting_store_payment: "コンビニでのお支払い待ち",
      slip_title: "コンビニ払込票", slip_chain: "店舗", slip_number: "お支払い番号",
      slip_confirmation: "確認番号", slip_deadline: "お支払い期限", slip_amount: "お支払い金額",
      slip_how: "お支払い方法", slip_note: "ご入金を確認後に発送します。",
      chains: {
        seven_eleven: "セブン-イレブン", familymart: "ファミリーマート", lawson: "ローソン",
        ministop: "ミニストップ", seicomart: "セイコーマート"
      }
    }
  };

  const log = document.getElementById("log");
  const composer = document.getElementById("composer");
  const box = document.getElementById("message");
  const sendButton = document.getElementById("send");

  const state = {
    lang: initialLang(),
    conv: null, // {id, token, touched}
    queue: Promise.resolve(), // API calls run one at a time, so events render in server order
    inFlight: 0,
    retryKey: null, // {text, key} of a message whose send failed: a resend reuses the key
    live: [], // interactive widgets that a later step retires: {kind, retire}
    frames: new Set() // gateway iframes listening for postMessage: {onMessage}
  };

  // ---------------------------------------------------------------- small helpers

  // Storage can be disabled (blocked site data): the chat then just does not survive a reload.
  function load(area, key) {
    try { return window[area].getItem(key); } catch (err) { return null; }
  }
  function keep(area, key, value) {
    try {
      if (value === null) window[area].removeItem(key); else window[area].setItem(key, value);
    } catch (err) { /* not kept */ }
  }

  function initialLang() {
    const saved = load("localStorage", LANG_KEY);
    if (saved === "en" || saved === "ja") return saved;
    return (navigator.language || "").toLowerCase().startsWith("ja") ? "ja" : "en";
  }

  function has(key) { return key in TEXT[state.lang] || key in TEXT.en; }

  function t(key, vars) {
    const text = TEXT[state.lang][key] ?? TEXT.en[key] ?? key;
    return typeof text !== "string" ? text
      : text.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : ""));
  }

  // ¥3,000 in both languages (JPY has no minor unit).
  function yen(amount) { return "¥" + Number(amount || 0).toLocaleString("en-US"); }

  // Build an element: props are attributes, except `class`, `text` and `on<event>` handlers.
  // Children may be nodes or strings (appended as text nodes, never parsed as HTML).
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.className = value;
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    node.append(...children.filter((child) => child !== null && child !== undefined && child !== false));
    return node;
  }

  function productName(item) {
    return (state.lang === "ja" && item.name_ja) || item.name || item.sku || "";
  }

  function methodName(method) { return has("m_" + method) ? t("m_" + method) : String(method || ""); }

  function scrollToEnd() { log.scrollTop = log.scrollHeight; }

  // ---------------------------------------------------------------- API

  class ApiError extends Error {
    constructor(status, code, message, body) {
      super(message || code);
      this.status = status; this.code = code; this.body = body || {};
    }
    // Network failures and server errors may succeed on a retry; 4xx answers will not.
    get retryable() { return this.status === 0 || this.status === 429 || this.status >= 500; }
  }

  async function send(method, path, body, token, headers) {
    const all = { ...headers };
    if (body !== undefined) all["Content-Type"] = "application/json";
    if (token) all.Authorization = "Bearer " + token;
    try {
      return await fetch(path, {
        method, headers: all, cache: "no-store", credentials: "same-origin",
        body: body === undefined ? undefined : JSON.stringify(body)
      });
    } catch (err) {
      throw new ApiError(0, "network");
    }
  }

  // The JSON body of an answer; an ApiError for a refusal.
  async function jsonOf(response) {
    let data = null;
    try { data = await response.json(); } catch (err) { /* e.g. a proxy's HTML error page */ }
    if (!response.ok) {
      const error = (data && data.error) || {};
      throw new ApiError(response.status, error.code || "http_" + response.status, error.message, error);
    }
    return data;
  }

  async function api(method, path, body, token) {
    return jsonOf(await send(method, path, body, token, { Accept: "application/json" }));
  }

  // A message whose reply streams as server-sent events: `onDelta(step, text)` for each piece of
  // text as the model writes it, then the turn's events (the same as the JSON answer's). A refusal
  // comes as ordinary JSON with a 4xx/5xx status. A 200 means the words are stored: if the stream
  // breaks after that, the caller reloads the transcript rather than sending them again.
  async function streamMessage(path, body, token, key, onDelta) {
    const response = await send("POST", path, body, token,
      { Accept: "text/event-stream", "Idempotency-Key": key });
    const type = response.headers.get("content-type") || "";
    if (!response.ok || !type.startsWith("text/event-stream") || !response.body) {
      const data = await jsonOf(response);
      return { events: (data && data.events) || [], stored: true };
    }
    const reader = response.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    let result = null;
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += decoder.decode(value, { stream: true });
        let end;
        while ((end = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, end);
          buffer = buffer.slice(end + 2);
          let name = "message", data = "";
          for (const line of block.split("\n")) {
            if (line.startsWith("event: ")) name = line.slice(7);
            else if (line.startsWith("data: ")) data += line.slice(6);
          }
          const payload = data ? JSON.parse(data) : {};
          if (name === "delta") onDelta(payload.step, payload.text);
          else if (name === "events") result = { events: payload.events, stored: true };
          else if (name === "error") {
            const error = payload.error || {};
            result = { events: null, stored: true, error: new ApiError(503, error.code, error.message, error) };
          }
        }
      }
    } catch (err) {
      /* the connection dropped mid-reply: the words are stored, the reply may be too */
    }
    return result || { events: null, stored: true };
  }

  function newKey() {
    if (crypto.randomUUID) return crypto.randomUUID(); // only in secure contexts (https, localhost)
    return Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, "0")).join("");
  }

  // Run API calls one after another, with the typing indicator while any is in flight. The token
  // is the one of the chat the call was made in, even if it runs after "New chat" was pressed.
  function queued(work) {
    const token = state.conv && state.conv.token;
    const run = state.queue.then(async () => {
      clearNotices();
      setTyping(+1);
      try { return await work(token); } finally { setTyping(-1); }
    });
    state.queue = run.catch(() => {});
    return run;
  }

  function call(method, path, body) { return queued((token) => api(method, path, body, token)); }

  function conversationPath(suffix) {
    return "/api/conversations/" + encodeURIComponent(state.conv.id) + (suffix || "");
  }

  // A widget action: the server answers with events to show. `accepted` runs before they render
  // (so a form can close itself as "saved" before a later step retires it). Errors propagate.
  async function act(action, accepted) {
    const conv = state.conv;
    const data = await call("POST", conversationPath("/actions"), action);
    if (conv !== state.conv) return; // the shopper started another chat meanwhile
    markTouched();
    if (accepted) accepted();
    renderEvents(data.events);
  }

  // 401, or 404 for the conversation itself: the chat's token no longer opens it.
  function expired(err) {
    return err instanceof ApiError && (err.status === 401 || (err.status === 404 && err.code === "not_found"));
  }

  function errorText(err) {
    if (!(err instanceof ApiError) || err.status === 0) return t("err_network");
    if (err.status === 429) return t("err_rate");
    if (err.status >= 500) return t("err_server");
    if (expired(err)) return t("err_session");
    return err.message && err.message !== err.code ? err.message : t("err_generic"); // the server's words
  }

  // A small inline notice: "Try again" only where a retry can help, "New chat" for an expired chat.
  function showError(err, retry) {
    if (expired(err)) return notice(t("err_session"), t("new_chat"), newChat);
    const canRetry = retry && (!(err instanceof ApiError) || err.retryable);
    notice(errorText(err), canRetry ? t("retry") : null, retry);
  }

  // ---------------------------------------------------------------- conversation lifecycle

  function saveConversation() { keep("sessionStorage", STORE_KEY, state.conv && JSON.stringify(state.conv)); }

  function markTouched() {
    if (state.conv && !state.conv.touched) { state.conv.touched = true; saveConversation(); }
    document.querySelector(".suggestions")?.remove();
  }

  function resetLog() {
    for (const item of state.live) item.retire();
    state.live = []; state.frames.clear();
    log.replaceChildren();
  }

  async function startConversation() {
    resetLog();
    state.conv = null;
    saveConversation();
    try {
      const data = await call("POST", "/api/conversations", { locale: state.lang });
      state.conv = { id: data.id, token: data.token, touched: false };
      saveConversation();
      renderEvents(data.events);
      showSuggestions();
    } catch (err) {
      notice(errorText(err), t("retry"), startConversation);
    }
  }

  // A reload continues the same chat: the transcript comes back from the server.
  async function resumeConversation(saved) {
    state.conv = saved;
    try {
      const data = await call("GET", conversationPath());
      renderEvents(data.transcript);
      if (!saved.touched) showSuggestions();
    } catch (err) {
      if (err instanceof ApiError && !err.retryable) return startConversation();
      notice(errorText(err), t("retry"), () => resumeConversation(saved));
    }
  }

  function newChat() { startConversation(); }

  function setLang(lang) {
    if (lang === state.lang) return;
    state.lang = lang;
    keep("localStorage", LANG_KEY, lang);
    applyStaticTexts();
    // The conversation's language is fixed when it starts; an untouched chat simply restarts.
    if (!state.conv || !state.conv.touched) startConversation();
    else notice(t("lang_note"), t("new_chat"), newChat, true);
  }

  function applyStaticTexts() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-placeholder]")) {
      node.placeholder = t(node.dataset.i18nPlaceholder);
    }
    for (const node of document.querySelectorAll("[data-i18n-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    }
    for (const button of document.querySelectorAll(".lang-btn")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
  }

  // ---------------------------------------------------------------- rendering: messages, notices

  function row(role, ...content) {
    const node = h("div", { class: "row row-" + role }, ...content);
    log.append(node);
    return node;
  }

  function addMessage(role, text) {
    return row(role === "user" ? "user" : "assistant", h("div", { class: "bubble", text }));
  }

  // A small inline notice (an error unless `info`), optionally with one button.
  function notice(text, actionLabel, onAction, info) {
    const button = actionLabel && h("button", {
      type: "button", class: "link", text: actionLabel, onclick: () => { node.remove(); onAction(); }
    });
    const node = h("div", { class: info ? "notice info" : "notice", role: info ? "status" : "alert" },
      h("span", { text }), button);
    log.append(node);
    scrollToEnd();
  }

  function clearNotices() { for (const node of log.querySelectorAll(".notice")) node.remove(); }

  function setTyping(delta) {
    state.inFlight += delta;
    // aria-busy tells assistive technology (and tests) that replies are still on their way.
    log.setAttribute("aria-busy", String(state.inFlight > 0));
    let indicator = document.getElementById("typing");
    if (state.inFlight > 0 && !indicator) {
      indicator = h("div", { class: "row row-assistant", id: "typing", role: "status" },
        h("div", { class: "bubble typing", "aria-label": t("typing") },
          h("span", { class: "dot" }), h("span", { class: "dot" }), h("span", { class: "dot" })));
      log.append(indicator);
      scrollToEnd();
    } else if (state.inFlight === 0 && indicator) {
      indicator.remove();
    }
  }

  function showSuggestions() {
    const chips = t("suggestions").map((text) =>
      h("button", { type: "button", class: "chip", text, onclick: () => sendMessage(text) }));
    log.append(h("div", { class: "suggestions" }, h("span", { class: "muted", text: t("try_these") }), ...chips));
  }

  function renderEvents(events) {
    retire(["quick_replies"]);
    for (const event of events || []) {
      if (event.type === "message") addMessage(event.role, event.text);
      else if (event.type === "widget" && event.widget) addWidget(event.widget);
    }
    // Keep the typing indicator and notices last.
    const typing = document.getElementById("typing");
    if (typing) log.append(typing);
    scrollToEnd();
  }

  // ---------------------------------------------------------------- rendering: widgets

  // Checkout steps: a newer step (or the end of the order) closes the forms and buttons of the
  // older ones, so the shopper can only act on what is current. Product lists stay usable.
  const STEPS = ["address_form", "payment_methods", "card_form", "confirm", "threeds_challenge"];
  const ENDS = ["receipt", "konbini_slip"];

  function retire(kinds) {
    state.live = state.live.filter((item) => {
      if (!kinds.includes(item.kind)) return true;
      item.retire();
      return false;
    });
  }

  function addWidget(widget) {
    const render = WIDGETS[widget.kind];
    if (!render) return; // a widget kind this page does not know yet: the message text still shows
    if (STEPS.includes(widget.kind) || ENDS.includes(widget.kind)) retire(STEPS);
    if (widget.kind === "cart" || ENDS.includes(widget.kind)) retire(["cart"]);
    const view = render(widget);
    const card = h("section", { class: "widget widget-" + widget.kind.replace(/_/g, "-") }, view.node);
    row("assistant", card);
    if (view.retire) {
      state.live.push({ kind: widget.kind, retire: () => { card.classList.add("retired"); view.retire(); } });
    }
  }

  function title(text, extra) { return h("h3", { class: "widget-title" }, text, extra); }

  function amountRows(data) {
    const rows = [["subtotal", yen(data.subtotal)]];
    rows.push(["shipping", data.shipping_fee ? yen(data.shipping_fee) : t("free")]);
    if (data.payment_fee) rows.push(["payment_fee", yen(data.payment_fee)]);
    const taxes = Object.entries(data.tax_included || {}).filter(([, amount]) => amount > 0)
      .sort(([a], [b]) => Number(b) - Number(a));
    const list = h("dl", { class: "amounts" });
    for (const [key, value] of rows) list.append(h("dt", { text: t(key) }), h("dd", { text: value }));
    for (const [rate, amount] of taxes) {
      list.append(h("dt", { class: "tax", text: t("tax", { rate }) }), h("dd", { class: "tax", text: yen(amount) }));
    }
    list.append(h("dt", { class: "total", text: t("total") }), h("dd", { class: "total", text: yen(data.total) }));
    return list;
  }

  function lineList(lines, removable) {
    return h("ul", { class: "lines" }, ...(lines || []).map((line) => h("li", { class: "line" },
      h("span", { class: "line-name", text: productName(line) }),
      h("span", { class: "line-qty", text: "× " + line.quantity }),
      h("span", { class: "line-total", text: yen(line.line_total) }),
      removable ? removable(line) : null)));
  }

  // A button that runs an async action once at a time, with a busy label meanwhile.
  function actionButton(props, label, busyLabel, run) {
    const button = h("button", { type: "button", ...props, text: label });
    button.addEventListener("click", async () => {
      if (button.disabled) return;
      button.disabled = true;
      button.textContent = busyLabel;
      try { await run(); } catch (err) { showError(err); } finally {
        button.textContent = label;
        button.disabled = false;
      }
    });
    return button;
  }

  // The catalogue has no pictures: each category gets a coloured tile with a letter (chat.css).
  const CATEGORY_MARKS = {
    tea: "T", coffee: "C", snacks: "S", mugs: "M", kitchenware: "K", stationery: "P", apparel: "A"
  };

  function productList(widget) {
    const cards = (widget.products || []).map((product) => {
      const soldOut = !product.stock;
      const meta = [product.size, product.tax_rate === 8 ? t("reduced_rate") : null,
        !soldOut && product.stock <= 5 ? t("few_left", { n: product.stock }) : null].filter(Boolean).join(" · ");
      const add = soldOut ? h("button", { type: "button", class: "secondary", disabled: true, text: t("sold_out") })
        : actionButton({ class: "secondary", "data-sku": product.sku }, t("add"), t("adding"),
          () => act({ type: "add_to_cart", sku: product.sku, quantity: 1 }));
      return h("article", { class: "product" },
        h("div", { class: "thumb thumb-" + (product.category || "other"), "aria-hidden": "true",
          text: CATEGORY_MARKS[product.category] || "•" }),
        h("div", { class: "product-body" },
          h("div", { class: "product-name", text: productName(product) }),
          meta ? h("div", { class: "muted small", text: meta }) : null,
          h("div", { class: "price", text: yen(product.price) })),
        add);
    });
    return { node: h("div", { class: "products" }, ...cards) };
  }

  function cart(widget) {
    const lines = widget.lines || [];
    if (!lines.length) {
      return { node: h("div", {}, title(t("cart")), h("p", { class: "muted", text: t("cart_empty") })) };
    }
    const buttons = [];
    const remove = (line) => {
      const label = t("remove_item", { name: productName(line) });
      const button = actionButton({ class: "icon-btn", "aria-label": label, title: t("remove") },
        "×", "…", () => act({ type: "remove_from_cart", sku: line.sku }));
      buttons.push(button);
      return button;
    };
    const checkout = actionButton({ class: "primary" }, t("checkout"), t("checkout"), () => act({ type: "checkout" }));
    buttons.push(checkout);
    const node = h("div", {}, title(t("cart")), lineList(lines, remove), amountRows(widget), checkout);
    return { node, retire: () => buttons.forEach((button) => button.remove()) };
  }

  // Field name, attributes (max lengths mirror agent/actions.py AddressFields).
  const ADDRESS_FIELDS = [
    ["name", { autocomplete: "name", maxlength: 100, required: true }],
    ["postal_code", { autocomplete: "postal-code", inputmode: "numeric", maxlength: 20, required: true }],
    ["prefecture", { autocomplete: "address-level1", maxlength: 20 }],
    ["city", { autocomplete: "address-level2", maxlength: 100 }],
    ["line1", { autocomplete: "address-line1", maxlength: 200, required: true }],
    ["line2", { autocomplete: "address-line2", maxlength: 200 }],
    ["phone", { autocomplete: "tel", type: "tel", maxlength: 30, required: true }],
    ["email", { autocomplete: "email", type: "email", maxlength: 254, required: true }]
  ];
  let fieldCounter = 0;

  // Per-field errors: the widget's `errors`, a 422 `error.details.fields` ({field: {en, ja}}) or
  // a request-validation `error.fields` ([{field: "fields.phone", problem}]).
  function fieldErrors(source) {
    const errors = {};
    if (Array.isArray(source)) {
      for (const item of source) {
        const field = String(item.field || "").replace(/^fields\./, "");
        errors[field] = state.lang === "ja" ? t("field_invalid") : item.problem; // pydantic speaks English
      }
    } else {
      for (const [field, value] of Object.entries(source || {})) {
        errors[field] = typeof value === "string" ? value
          : value[state.lang] || value.en || value.message || t("field_invalid");
      }
    }
    return errors;
  }

  function addressForm(widget) {
    const inputs = {}, errorNodes = {};
    const prefill = widget.fields || {};
    const fields = ADDRESS_FIELDS.map(([name, props]) => {
      const id = "addr-" + name + "-" + (++fieldCounter);
      inputs[name] = h("input", {
        id, name, type: "text", value: prefill[name] || "", "aria-describedby": id + "-error",
        placeholder: has("ph_" + name) ? t("ph_" + name) : null, ...props
      });
      errorNodes[name] = h("p", { class: "field-error", id: id + "-error" });
      return h("div", { class: "field field-" + name },
        h("label", { for: id, text: t("f_" + name) }), inputs[name], errorNodes[name]);
    });
    const summary = h("p", { class: "field-error", role: "alert" });
    const submit = h("button", { type: "submit", class: "primary", text: t("save_address") });
    const form = h("form", { class: "address-form", novalidate: true }, title(t("address")),
      h("p", { class: "muted small", text: t("address_hint") }), h("div", { class: "fields" }, ...fields),
      summary, submit);

    function showErrors(errors) {
      for (const [name, node] of Object.entries(errorNodes)) {
        node.textContent = errors[name] || "";
        inputs[name].setAttribute("aria-invalid", errors[name] ? "true" : "false");
      }
      summary.textContent = Object.keys(errors).length ? t("check_fields") : "";
    }
    showErrors(fieldErrors(widget.errors));

    form.addEventListener("submit", async (event) => {
      event.preventDefault(); // the page never navigates; the address goes to the API as JSON
      if (submit.disabled) return;
      const values = {};
      for (const [name, input] of Object.entries(inputs)) values[name] = input.value.trim();
      submit.disabled = true; submit.textContent = t("saving");
      try {
        showErrors({});
        await act({ type: "submit_address", fields: values }, () => close(t("address_saved")));
      } catch (err) {
        const body = err instanceof ApiError ? err.body : {};
        const errors = fieldErrors((body.details && body.details.fields) || body.fields);
        if (err instanceof ApiError && err.status === 422 && Object.keys(errors).length) showErrors(errors);
        else showError(err);
      } finally {
        submit.disabled = false; submit.textContent = t("save_address");
      }
    });

    let closed = false;
    function close(text) {
      if (closed) return;
      closed = true;
      form.replaceWith(h("p", { class: "muted", text: "✓ " + text }));
    }
    return { node: form, retire: () => close(t("form_closed")) };
  }

  function paymentMethods(widget) {
    const options = widget.methods || [];
    const buttons = options.map((option) => {
      const reason = option.available ? null : has("r_" + option.reason) ? t("r_" + option.reason) : t("r_other");
      const classes = ["method", widget.selected === option.method && "selected", !option.available && "unavailable"];
      const button = h("button", {
        type: "button", class: classes.filter(Boolean).join(" "), disabled: !option.available,
        "data-method": option.method
      },
        h("span", { class: "method-name", text: methodName(option.method) }),
        h("span", { class: "method-fee", text: option.fee ? t("fee", { fee: yen(option.fee) }) : t("no_fee") }),
        h("span", { class: "method-desc muted small", text: reason || t("d_" + option.method) }));
      if (!option.available) return button;
      button.addEventListener("click", async () => {
        if (button.disabled) return;
        for (const other of buttons) other.disabled = true;
        button.classList.add("selected");
        try { await act({ type: "choose_payment_method", method: option.method }); } catch (err) {
          showError(err);
          button.classList.remove("selected");
          buttons.forEach((other, i) => { other.disabled = !options[i].available; });
        }
      });
      return button;
    });
    const node = h("div", {}, title(t("pay_with")), h("div", { class: "methods" }, ...buttons));
    return { node, retire: () => buttons.forEach((button) => { button.disabled = true; }) };
  }

  // An iframe from the payment gateway. Only its own origin can have produced a message whose
  // event.origin equals `origin`, and checking event.source as well ties the message to this very
  // frame (not another window of the gateway). CSP frame-src keeps any other origin out anyway.
  function gatewayFrame(url, expectedOrigin, className, label, onMessage) {
    let parsed;
    try { parsed = new URL(url); } catch (err) { return null; }
    if (parsed.origin !== expectedOrigin || !/^https?:$/.test(parsed.protocol)) return null;
    const frame = h("iframe", {
      class: "gateway-frame " + className, src: parsed.href, title: label,
      // Scripts and forms for the card fields; same-origin so the frame keeps the gateway's origin
      // (its own fetch to /v1/tokens). No top navigation, no popups.
      sandbox: "allow-scripts allow-forms allow-same-origin",
      referrerpolicy: "no-referrer", loading: "eager"
    });
    const holder = h("div", { class: "frame-holder loading" },
      h("p", { class: "muted small frame-loading", text: t("loading") }), frame);
    frame.addEventListener("load", () => holder.classList.remove("loading"));
    const listener = {
      onMessage(event) {
        if (event.origin !== expectedOrigin || event.source !== frame.contentWindow) return;
        if (!event.data || typeof event.data !== "object") return;
        onMessage(event.data);
      }
    };
    state.frames.add(listener);
    return { holder, frame, stop: () => state.frames.delete(listener) };
  }

  function cardForm(widget) {
    let origin;
    try { origin = new URL(widget.origin).origin; } catch (err) { origin = null; }
    const status = h("p", { class: "muted small", role: "status" });
    const node = h("div", {}, title(t("card_title"), h("span", { class: "secure-badge", text: t("secure") })),
      h("p", { class: "muted small", text: t("card_secure") }), status);
    let sending = false;
    const gateway = origin && gatewayFrame(widget.iframe_url, origin, "card-frame", t("card_frame"), async (data) => {
      if (data.type !== "chatpay.card_token" || typeof data.token !== "string" || sending) return;
      const label = String(data.brand || "").toUpperCase() + " •••• " + String(data.last4 || "");
      sending = true;
      status.textContent = t("checking_card", { card: label });
      try {
        await act({ type: "card_token", token: data.token },
          () => { status.textContent = "✓ " + t("card_saved", { card: label }); });
      } catch (err) {
        status.textContent = "";
        showError(err); // the frame stays, so the shopper can enter the card again
      } finally { sending = false; }
    });
    if (!gateway) { node.append(h("p", { class: "field-error", text: t("err_generic") })); return { node }; }
    node.append(gateway.holder);
    return {
      node,
      retire: () => {
        gateway.stop();
        gateway.holder.remove();
        if (!status.textContent) status.textContent = t("form_closed");
      }
    };
  }

  function confirm(widget) {
    const total = yen(widget.total);
    const method = widget.payment_method;
    const card = widget.card ? String(widget.card.brand || "").toUpperCase() + " •••• " + widget.card.last4 : null;
    const address = widget.address || {};
    const street = ["prefecture", "city", "town", "line1"].map((key) => address[key] || "").join("");
    const place = ["〒" + (address.postal_code || ""), street, address.line2].filter(Boolean).join(" ");
    const pay = h("button", { type: "button", class: "pay", text: t("pay", { total }) });
    const note = method === "after_delivery" ? t("pay_note_after_delivery", { total })
      : method === "konbini" ? t("pay_note_konbini", { total }) : null;
    // One click sends one confirm: the button is disabled at once and stays disabled unless the
    // request never got an answer (then retrying is safe: the server makes at most one order per
    // quote, and a repeated confirm returns that same order without charging again).
    pay.addEventListener("click", async () => {
      if (pay.disabled) return;
      pay.disabled = true;
      pay.textContent = t("paying");
      try {
        await act({ type: "confirm", quote_id: widget.quote_id, quote_hash: widget.quote_hash });
      } catch (err) {
        pay.textContent = t("pay", { total });
        if (!(err instanceof ApiError) || err.retryable) {
          pay.disabled = false;
          showError(err);
        } else {
          // Refused (the cart changed, the quote expired): offer a fresh confirmation.
          const reviewAgain = () => act({ type: "quick_reply", value: "confirm" }).catch(showError);
          notice(errorText(err), t("review_again"), reviewAgain);
        }
      }
    });
    const node = h("div", {}, title(t("confirm_title")),
      lineList(widget.lines),
      amountRows(widget),
      h("dl", { class: "facts" },
        h("dt", { text: t("method") }), h("dd", { text: methodName(method) + (card ? " · " + card : "") }),
        h("dt", { text: t("deliver_to") }),
        h("dd", {}, h("div", { text: address.name || "" }), h("div", { class: "muted small", text: place }))),
      pay,
      note ? h("p", { class: "muted small center", text: note }) : null);
    return {
      node,
      retire: () => {
        if (!pay.disabled) node.append(h("p", { class: "muted small center", text: t("confirm_stale") }));
        pay.disabled = true;
        pay.textContent = t("pay", { total });
      }
    };
  }

  function threedsChallenge(widget) {
    let url;
    try { url = new URL(widget.challenge_url); } catch (err) {
      return { node: h("p", { class: "field-error", text: t("err_generic") }) };
    }
    // The gateway's page posts its result only to an `origin` it was told (and that it allows);
    // without one it would navigate itself back to the shop, which refuses to be framed.
    if (!url.searchParams.has("origin")) url.searchParams.set("origin", window.location.origin);
    if (!url.searchParams.has("locale")) url.searchParams.set("locale", state.lang);
    const status = h("p", { class: "muted small", role: "status" });
    let done = false;
    // The expected sender is the challenge page's own origin; CSP frame-src only lets the
    // gateway's origin load here, so this is the gateway.
    const complete = async () => {
      status.textContent = t("verifying");
      try { await act({ type: "threeds_complete", payment_id: widget.payment_id }); } catch (err) {
        status.textContent = "";
        showError(err, complete);
      }
    };
    const gateway = gatewayFrame(url.href, url.origin, "threeds-frame", t("threeds_frame"), (data) => {
      if (data.type !== "chatpay.threeds_done" || done) return;
      done = true; // the page posts once; the server's answer (receipt or decline) ends this widget
      complete();
    });
    const node = h("div", {}, title(t("threeds_title")), status);
    if (gateway) node.append(gateway.holder);
    return {
      node,
      retire: () => {
        if (gateway) { gateway.stop(); gateway.holder.remove(); }
        status.textContent = t("threeds_closed");
      }
    };
  }

  function receipt(widget) {
    const status = widget.status || "";
    const heading = has("receipt_" + status) ? t("receipt_" + status) : t("receipt_other");
    const badge = has("s_" + status) ? t("s_" + status) : status;
    return {
      node: h("div", {},
        h("div", { class: "receipt-head" }, h("span", { class: "check", "aria-hidden": "true", text: "✓" }),
          h("div", {}, h("h3", { class: "widget-title", text: heading }),
            h("span", { class: "badge badge-" + status, text: badge }))),
        h("dl", { class: "facts" },
          h("dt", { text: t("order_no") }), h("dd", { class: "mono", text: widget.order_id || "" }),
          h("dt", { text: t("method") }), h("dd", { text: methodName(widget.payment_method) })),
        lineList(widget.lines),
        amountRows(widget))
    };
  }

  function formatDeadline(iso) {
    const date = new Date(iso);
    if (Number.isNaN(date.getTime())) return iso || "";
    const format = new Intl.DateTimeFormat(state.lang === "ja" ? "ja-JP" : "en-GB", {
      timeZone: "Asia/Tokyo", year: "numeric", month: state.lang === "ja" ? "numeric" : "short",
      day: "numeric", weekday: "short", hour: "2-digit", minute: "2-digit"
    });
    return format.format(date) + (state.lang === "ja" ? "" : " (Japan time)");
  }

  function konbiniSlip(widget) {
    const chain = (t("chains") || {})[widget.store_chain] || widget.store_chain || "";
    let how = null;
    try {
      const link = widget.instructions_url && new URL(widget.instructions_url);
      if (link && /^https?:$/.test(link.protocol)) {
        how = h("a", { href: link.href, target: "_blank", rel: "noopener noreferrer", text: t("slip_how") });
      }
    } catch (err) { /* no link */ }
    return {
      node: h("div", {}, title(t("slip_title")),
        h("dl", { class: "facts slip" },
          h("dt", { text: t("slip_chain") }), h("dd", { text: chain }),
          h("dt", { text: t("slip_number") }), h("dd", { class: "mono big", text: widget.payment_number || "" }),
          h("dt", { text: t("slip_confirmation") }),
          h("dd", { class: "mono big", text: widget.confirmation_number || "" }),
          h("dt", { text: t("slip_deadline") }), h("dd", { text: formatDeadline(widget.deadline) }),
          h("dt", { text: t("slip_amount") }), h("dd", { class: "total", text: yen(widget.amount ?? widget.total) }),
          h("dt", { text: t("order_no") }), h("dd", { class: "mono", text: widget.order_id || "" })),
        h("p", { class: "muted small", text: t("slip_note") }), how)
    };
  }

  function quickReplies(widget) {
    const buttons = (widget.options || []).map((option) => h("button", {
      type: "button", class: "chip", text: option.label,
      onclick: async () => {
        buttons.forEach((button) => { button.disabled = true; });
        try { await act({ type: "quick_reply", value: option.value }); } catch (err) {
          buttons.forEach((button) => { button.disabled = false; });
          showError(err);
        }
      }
    }));
    const node = h("div", { class: "chips" }, ...buttons);
    return { node, retire: () => node.remove() };
  }

  const WIDGETS = {
    product_list: productList, cart, address_form: addressForm, payment_methods: paymentMethods,
    card_form: cardForm, confirm, threeds_challenge: threedsChallenge, receipt,
    konbini_slip: konbiniSlip, quick_replies: quickReplies
  };

  // ---------------------------------------------------------------- the message box

  let sending = false;

  // `fromBox`: the words were typed (not a suggestion chip), so the box is emptied and, on failure,
  // refilled.
  async function sendMessage(text, fromBox) {
    if (sending || !state.conv) return;
    sending = true;
    sendButton.disabled = true;
    retire(["quick_replies"]);
    document.querySelector(".suggestions")?.remove();
    const bubble = addMessage("user", text);
    bubble.classList.add("pending");
    if (fromBox) box.value = "";
    scrollToEnd();
    const conv = state.conv;
    // Sending the same words again after a failure reuses the key: if the first attempt did reach
    // the shop, the server answers from it instead of taking the message twice.
    const key = state.retryKey && state.retryKey.text === text ? state.retryKey.key : newKey();
    state.retryKey = { text, key };
    let preview = null, previewStep = null;
    // Text as the model writes it, in a bubble of its own that the final events replace.
    const onDelta = (step, piece) => {
      if (conv !== state.conv) return;
      if (!preview || step !== previewStep) {
        preview?.remove();
        preview = addMessage("assistant", "");
        preview.classList.add("streaming");
        previewStep = step;
      }
      preview.querySelector(".bubble").textContent += piece;
      const typing = document.getElementById("typing");
      if (typing) log.append(typing);
      scrollToEnd();
    };
    try {
      const path = conversationPath("/messages");
      const data = await queued((token) => streamMessage(path, { text }, token, key, onDelta));
      state.retryKey = null;
      preview?.remove();
      if (conv !== state.conv) return;
      bubble.classList.remove("pending");
      markTouched();
      if (data.events) renderEvents(data.events);
      else {
        // Stored, but the reply did not arrive whole: show the conversation as the server has it.
        resetLog();
        await resumeConversation(conv);
        if (data.error) showError(data.error);
      }
    } catch (err) {
      preview?.remove();
      // The words are never lost: they go back into the box, ready to send again.
      bubble.remove();
      if (fromBox) box.value = text + (box.value ? "\n" + box.value : "");
      else if (!box.value) box.value = text;
      showError(err);
    } finally {
      sending = false;
      sendButton.disabled = false;
      box.focus();
    }
  }

  composer.addEventListener("submit", (event) => {
    event.preventDefault();
    const text = box.value.trim();
    if (text) sendMessage(text, true);
  });

  box.addEventListener("keydown", (event) => {
    // Enter sends, Shift+Enter breaks the line. While a Japanese IME is composing, Enter only
    // commits the conversion (isComposing; keyCode 229 for older Safari) and must not send.
    if (event.key !== "Enter" || event.shiftKey || event.isComposing || event.keyCode === 229) return;
    event.preventDefault();
    composer.requestSubmit();
  });

  // One listener for every gateway frame; each frame checks origin and source itself.
  window.addEventListener("message", (event) => { for (const frame of [...state.frames]) frame.onMessage(event); });

  for (const button of document.querySelectorAll(".lang-btn")) {
    button.addEventListener("click", () => setLang(button.dataset.lang));
  }
  document.getElementById("new-chat").addEventListener("click", newChat);

  // ---------------------------------------------------------------- start

  applyStaticTexts();
  let saved = null;
  try { saved = JSON.parse(load("sessionStorage", STORE_KEY) || "null"); } catch (err) { saved = null; }
  if (saved && typeof saved.id === "string" && typeof saved.token === "string") resumeConversation(saved);
  else startConversation();
})();
