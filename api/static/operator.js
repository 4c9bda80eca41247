// chatpay operator dashboard. Plain JavaScript, no build step, no third-party code.
//
// The page reads the operator JSON APIs on its own origin (the session cookie authenticates it):
// GET /api/operator/funnel, /api/operator/conversations and /api/operator/conversations/{id}.
// Charts are inline SVG built with DOM calls; every piece of server data goes into the page with
// textContent / setAttribute, never as HTML (transcripts are shopper text).
"use strict";
(() => {
  const LANG_KEY = "chatpay.operator.lang"; // localStorage: the operator's UI language
  const PAGE_SIZE = 20;
  const STAGES = ["started", "browsed", "cart", "address", "payment_method", "payment_details",
    "confirmation", "purchased"];
  const STATUSES = ["paid", "deferred_approved", "awaiting_screening", "awaiting_store_payment",
    "requires_action", "pending_payment", "failed", "canceled"];
  const BREAKDOWNS = ["day", "locale", "payment_method", "prompt_variant"];

  const TEXT = {
    en: {
      operator: "Operator", language: "Language", logout: "Log out",
      login_title: "Operator login", login_hint: "Enter the operator key (CHATPAY_OPERATOR_KEY).",
      key: "Operator key", login: "Log in", logging_in: "Checking…",
      err_wrong_key: "That key is not right.",
      err_rate: "Too many attempts. Please wait a minute and try again.",
      err_network: "Could not reach the server. Check your connection and try again.",
      err_load: "Could not load {what} ({status}).",
      period: "Period", days_1: "Today", days_7: "Last 7 days", days_30: "Last 30 days", days_90: "Last 90 days",
      period_label: "{since} – {until} (UTC days)",
      summary: "Summary", k_started: "Conversations", k_purchased: "Purchases", k_conversion: "Conversion",
      k_awaiting: "Awaiting store payment", k_median_time: "Median time to purchase",
      k_median_turns: "Median shopper turns to purchase", k_calls: "Model calls per purchase",
      k_tokens: "Tokens per purchase",
      funnel: "Conversion funnel", funnel_chart: "Funnel: conversations reaching each checkout stage",
      dropoff: "Drop-off per step", stage: "Stage", count: "Reached", share: "Of started",
      drop: "Drop-off", stopped_here: "Stopped here",
      ab: "Prompt variants (A/B)",
      ab_hint: "Two-proportion z-test of each variant's conversion against the control (the variant with the most conversations); significant when p < 0.05.",
      variant: "Variant", conversations_n: "Conversations", purchases: "Purchases", conversion: "Conversion",
      z: "z", p: "p-value", result: "Result", control: "control", significant: "significant",
      not_significant: "not significant", no_variants: "No prompt variants in this period.",
      breakdowns: "Breakdowns", b_day: "By day", b_locale: "By language", b_payment_method: "By payment method",
      b_prompt_variant: "By prompt variant", bh_day: "Day (UTC)", bh_locale: "Language",
      bh_payment_method: "Payment method", bh_prompt_variant: "Variant", no_rows: "Nothing in this period.",
      conversations: "Recent conversations", f_order: "Order id", f_status: "Order status", f_stage: "Stage",
      any: "Any", search: "Search", prev: "Previous", next: "Next",
      page_label: "{from}–{to} of {total}", page_empty: "No conversations match.",
      c_started: "Started (JST)", c_id: "Conversation", c_locale: "Lang", c_variant: "Variant",
      c_stage: "Furthest stage", c_turns: "Turns", c_order: "Order", open: "Open conversation {id}",
      conversation: "Conversation", close: "Close", transcript: "Transcript (redacted)", orders: "Orders",
      no_orders: "No order.", no_events: "No messages.", created: "Started", updated: "Last activity",
      you: "Shopper", shop: "Shop", widget: "Widget", sku: "SKU", item: "Item", qty: "Qty",
      unit_price: "Unit price", total: "Total", method: "Payment", status: "Status",
      w_product_list: "Showed products ({n}): {names}", w_cart: "Showed the cart: {n} lines, total {total}",
      w_address_form: "Showed the address form", w_payment_methods: "Showed the payment methods",
      w_card_form: "Showed the secure card form", w_confirm: "Showed the confirmation: {total}, {method}",
      w_receipt: "Showed the receipt: order {order} ({status})",
      w_konbini_slip: "Showed a convenience-store slip: order {order}", w_quick_replies: "Offered quick replies",
      w_other: "Showed {kind}",
      seconds: "{s} s", minutes: "{m} min {s} s",
      st_started: "Started", st_browsed: "Viewed products", st_cart: "Cart", st_address: "Address",
      st_payment_method: "Payment method", st_payment_details: "Card / screening",
      st_confirmation: "Confirmation shown", st_purchased: "Purchased",
      s_paid: "Paid", s_deferred_approved: "Pay after delivery (approved)", s_awaiting_screening: "Screening",
      s_awaiting_store_payment: "Awaiting store payment", s_requires_action: "3-D Secure pending",
      s_pending_payment: "Payment in progress", s_failed: "Failed", s_canceled: "Canceled",
      m_card: "Card", m_after_delivery: "After delivery", m_konbini: "Convenience store",
      none: "(none)"
    },
    ja: {
      operator: "運営", language: "言語", logout: "ログアウト",
      login_title: "運営者ログイン", login_hint: "運営キー（CHATPAY_OPERATOR_KEY）を入力してください。",
      key: "運営キー", login: "ログイン", logging_in: "確認中…",
      err_wrong_key: "キーが正しくありません。",
      err_rate: "試行回数が多すぎます。1分ほど待ってからもう一度お試しください。",
      err_network: "サーバーに接続できませんでした。通信環境をご確認のうえ、もう一度お試しください。",
      err_load: "{what}を読み込めませんでした（{status}）。",
      period: "期間", days_1: "今日", days_7: "過去7日間", days_30: "過去30日間", days_90: "過去90日間",
      period_label: "{since} 〜 {until}（UTCの日付）",
      summary: "概要", k_started: "会話数", k_purchased: "購入数", k_conversion: "購入率",
      k_awaiting: "コンビニ支払い待ち", k_median_time: "購入までの時間（中央値）",
      k_median_turns: "購入までの発言数（中央値）", k_calls: "購入あたりのモデル呼び出し",
      k_tokens: "購入あたりのトークン数",
      funnel: "購入ファネル", funnel_chart: "ファネル：各ステップに到達した会話数",
      dropoff: "ステップごとの離脱", stage: "ステップ", count: "到達", share: "開始に対する割合",
      drop: "離脱率", stopped_here: "ここで離脱",
      ab: "プロンプトのA/Bテスト",
      ab_hint: "各バリアントの購入率を対照群（会話数が最も多いバリアント）と2標本比率のz検定で比較します。p < 0.05 で有意。",
      variant: "バリアント", conversations_n: "会話数", purchases: "購入数", conversion: "購入率",
      z: "z", p: "p値", result: "結果", control: "対照", significant: "有意",
      not_significant: "有意差なし", no_variants: "この期間のバリアントはありません。",
      breakdowns: "内訳", b_day: "日別", b_locale: "言語別", b_payment_method: "支払い方法別",
      b_prompt_variant: "バリアント別", bh_day: "日付（UTC）", bh_locale: "言語",
      bh_payment_method: "支払い方法", bh_prompt_variant: "バリアント", no_rows: "この期間のデータはありません。",
      conversations: "最近の会話", f_order: "注文番号", f_status: "注文ステータス", f_stage: "ステップ",
      any: "すべて", search: "検索", prev: "前へ", next: "次へ",
      page_label: "{total}件中 {from}–{to}件", page_empty: "該当する会話はありません。",
      c_started: "開始（日本時間）", c_id: "会話", c_locale: "言語", c_variant: "バリアント",
      c_stage: "到達ステップ", c_turns: "発言数", c_order: "注文", open: "会話 {id} を開く",
      conversation: "会話", close: "閉じる", transcript: "会話記録（マスキング済み）", orders: "注文",
      no_orders: "注文はありません。", no_events: "メッセージはありません。", created: "開始", updated: "最終更新",
      you: "お客様", shop: "ショップ", widget: "ウィジェット", sku: "SKU", item: "商品", qty: "数量",
      unit_price: "単価", total: "合計", method: "支払い", status: "ステータス",
      w_product_list: "商品を{n}件表示：{names}", w_cart: "カートを表示：{n}行、合計 {total}",
      w_address_form: "住所フォームを表示", w_payment_methods: "支払い方法を表示",
      w_card_form: "カード入力フォームを表示", w_confirm: "注文確認を表示：{total}、{method}",
      w_receipt: "領収を表示：注文 {order}（{status}）",
      w_konbini_slip: "コンビニ払込票を表示：注文 {order}", w_quick_replies: "クイック返信を表示",
      w_other: "{kind} を表示",
      seconds: "{s}秒", minutes: "{m}分{s}秒",
      st_started: "会話開始", st_browsed: "商品閲覧", st_cart: "カート", st_address: "お届け先",
      st_payment_method: "支払い方法", st_payment_details: "カード／審査",
      st_confirmation: "注文確認", st_purchased: "購入",
      s_paid: "支払い済み", s_deferred_approved: "後払い承認", s_awaiting_screening: "審査中",
      s_awaiting_store_payment: "コンビニ支払い待ち", s_requires_action: "3-Dセキュア待ち",
      s_pending_payment: "決済処理中", s_failed: "失敗", s_canceled: "キャンセル",
      m_card: "カード", m_after_delivery: "後払い", m_konbini: "コンビニ払い",
      none: "（なし）"
    }
  };

  const state = {
    lang: initialLang(),
    days: 30,
    funnel: null,
    breakdown: "day",
    list: null,
    filters: { order_id: "", status: "", stage: "" },
    offset: 0,
    detail: null,
    loading: 0
  };

  // ---------------------------------------------------------------- small helpers

  function initialLang() {
    let saved = null;
    try { saved = window.localStorage.getItem(LANG_KEY); } catch (err) { /* storage blocked */ }
    if (saved === "en" || saved === "ja") return saved;
    return (navigator.language || "").toLowerCase().startsWith("ja") ? "ja" : "en";
  }

  function has(key) { return key in TEXT[state.lang] || key in TEXT.en; }

  function t(key, vars) {
    const text = TEXT[state.lang][key] ?? TEXT.en[key] ?? key;
    return text.replace(/\{(\w+)\}/g, (_, name) => (vars && name in vars ? String(vars[name]) : ""));
  }

  function named(prefix, value) {
    return has(prefix + value) ? t(prefix + value) : String(value ?? "");
  }

  const stageName = (stage) => named("st_", stage);
  const statusName = (status) => named("s_", status);
  const methodName = (method) => (method ? named("m_", method) : t("none"));
  // Conversations from before prompt variants existed count as "default", as in the funnel.
  const variantName = (variant) => String(variant || "default");

  function yen(amount, currency) {
    const number = Number(amount || 0).toLocaleString("en-US");
    return !currency || currency === "JPY" ? "¥" + number : number + " " + currency;
  }

  function dash(value) { return value === null || value === undefined ? "—" : value; }

  function percent(fraction) {
    return typeof fraction === "number" && isFinite(fraction) ? (fraction * 100).toFixed(1) + "%" : "—";
  }

  function decimal(value, digits) {
    return typeof value === "number" && isFinite(value) ? value.toFixed(digits) : "—";
  }

  function pValue(value) {
    if (typeof value !== "number" || !isFinite(value)) return "—";
    return value < 0.001 ? "< 0.001" : value.toFixed(3);
  }

  function duration(seconds) {
    if (typeof seconds !== "number" || !isFinite(seconds)) return "—";
    const whole = Math.round(seconds);
    return whole < 60 ? t("seconds", { s: whole })
      : t("minutes", { m: Math.floor(whole / 60), s: whole % 60 });
  }

  function tokyoTime(iso) {
    const date = new Date(iso);
    if (isNaN(date.getTime())) return String(iso ?? "");
    return new Intl.DateTimeFormat(state.lang === "ja" ? "ja-JP" : "en-GB", {
      timeZone: "Asia/Tokyo", year: "numeric", month: "2-digit", day: "2-digit",
      hour: "2-digit", minute: "2-digit"
    }).format(date);
  }

  // Build an element: props are attributes, except `class`, `text` and `on<event>` handlers.
  // Children may be nodes or strings (appended as text nodes, never parsed as HTML).
  function h(tag, props, ...children) {
    const node = document.createElement(tag);
    return fill(node, props, children);
  }

  const SVG_NS = "http://www.w3.org/2000/svg";
  function s(tag, props, ...children) {
    return fill(document.createElementNS(SVG_NS, tag), props, children);
  }

  function fill(node, props, children) {
    for (const [key, value] of Object.entries(props || {})) {
      if (value === null || value === undefined || value === false) continue;
      if (key === "class") node.setAttribute("class", value);
      else if (key === "text") node.textContent = value;
      else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
      else node.setAttribute(key, value === true ? "" : String(value));
    }
    node.append(...children.filter((child) => child !== null && child !== undefined && child !== false)
      .map((child) => (typeof child === "number" ? String(child) : child)));
    return node;
  }

  function table(headers, rows, options) {
    const head = h("thead", null, h("tr", null, ...headers.map((cell) =>
      h("th", { scope: "col", class: cell.num ? "num" : null, text: cell.text ?? cell }))));
    const body = h("tbody", null, ...rows);
    return h("table", { class: "data " + ((options && options.class) || "") }, head, body);
  }

  function td(value, numeric) { return h("td", { class: numeric ? "num" : null }, value); }

  function applyStaticText() {
    document.documentElement.lang = state.lang;
    for (const node of document.querySelectorAll("[data-i18n]")) node.textContent = t(node.dataset.i18n);
    for (const node of document.querySelectorAll("[data-i18n-label]")) {
      node.setAttribute("aria-label", t(node.dataset.i18nLabel));
    }
    for (const button of document.querySelectorAll(".lang-btn")) {
      button.setAttribute("aria-pressed", String(button.dataset.lang === state.lang));
    }
    // A login error the server rendered carries both languages.
    for (const node of document.querySelectorAll(".login-error[data-en]")) {
      node.textContent = node.dataset[state.lang] || node.dataset.en;
    }
  }

  function bindLanguage(render) {
    for (const button of document.querySelectorAll(".lang-btn")) {
      button.addEventListener("click", () => {
        state.lang = button.dataset.lang;
        try { window.localStorage.setItem(LANG_KEY, state.lang); } catch (err) { /* not kept */ }
        applyStaticText();
        render();
      });
    }
  }

  // ---------------------------------------------------------------- login

  function startLogin() {
    const form = document.getElementById("login");
    const input = document.getElementById("key");
    const error = document.getElementById("login-error");
    const submit = document.getElementById("login-submit");
    let lastError = null;
    const showError = () => {
      error.hidden = lastError === null;
      error.textContent = lastError === null ? "" : t(lastError);
    };
    bindLanguage(showError);
    applyStaticText();
    input.focus();
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      for (const old of document.querySelectorAll(".login-error[data-en]")) old.remove();
      submit.disabled = true;
      submit.textContent = t("logging_in");
      try {
        // JSON, as every request body of this service; the answer sets the HttpOnly cookie.
        const response = await fetch("/operator/login", {
          method: "POST", credentials: "same-origin", headers: { "Content-Type": "application/json" },
          body: JSON.stringify({ key: input.value })
        });
        if (response.ok) {
          window.location.assign("/operator");
          return;
        }
        lastError = response.status === 429 ? "err_rate" : "err_wrong_key";
      } catch (err) {
        lastError = "err_network";
      }
      submit.disabled = false;
      submit.textContent = t("login");
      input.select();
      showError();
    });
  }

  // ---------------------------------------------------------------- API

  class LoadError extends Error {
    constructor(what, status) { super(what); this.what = what; this.status = status; }
  }

  async function getJson(url, what) {
    let response;
    try {
      response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
    } catch (err) {
      throw new LoadError(what, 0);
    }
    if (response.status === 401) {
      window.location.assign("/operator"); // the session ended: back to the login form
      throw new LoadError(what, 401);
    }
    if (!response.ok) throw new LoadError(what, response.status);
    return response.json();
  }

  async function busy(work) {
    const main = document.getElementById("dashboard");
    state.loading += 1;
    main.setAttribute("aria-busy", "true");
    try {
      await work();
      document.getElementById("error").hidden = true;
    } catch (err) {
      const banner = document.getElementById("error");
      banner.textContent = err instanceof LoadError
        ? (err.status === 0 ? t("err_network") : t("err_load", { what: err.what, status: err.status }))
        : String(err);
      banner.hidden = false;
    } finally {
      state.loading -= 1;
      if (state.loading === 0) main.setAttribute("aria-busy", "false");
    }
  }

  function loadFunnel() {
    return busy(async () => {
      state.funnel = await getJson("/api/operator/funnel?days=" + state.days, "/api/operator/funnel");
      renderFunnel();
    });
  }

  function loadConversations() {
    return busy(async () => {
      const query = new URLSearchParams({ limit: String(PAGE_SIZE), offset: String(state.offset) });
      for (const [name, value] of Object.entries(state.filters)) if (value) query.set(name, value);
      state.list = await getJson("/api/operator/conversations?" + query, "/api/operator/conversations");
      renderConversations();
    });
  }

  function openConversation(id) {
    return busy(async () => {
      state.detail = await getJson("/api/operator/conversations/" + encodeURIComponent(id),
        "/api/operator/conversations/" + id);
      renderDetail();
      document.getElementById("detail").scrollIntoView({ block: "start" });
    });
  }

  // ---------------------------------------------------------------- funnel, drop-off, A/B

  function stageCount(stages, stage) {
    const found = (stages || []).find((item) => item.stage === stage);
    return found ? Number(found.count || 0) : 0;
  }

  function renderFunnel() {
    const data = state.funnel;
    if (!data) return;
    const started = stageCount(data.stages, "started");
    const purchased = stageCount(data.stages, "purchased");
    const purchase = data.purchase || {};
    document.getElementById("period-label").textContent = data.period
      ? t("period_label", { since: data.period.since, until: data.period.until }) : "";

    const kpi = (id, label, value) => h("div", { class: "kpi", id: "kpi-" + id },
      h("span", { class: "kpi-label", text: label }), h("strong", { class: "kpi-value", text: String(value) }));
    const kpis = document.getElementById("kpis");
    kpis.replaceChildren(kpis.querySelector("h2"),
      kpi("started", t("k_started"), started),
      kpi("purchased", t("k_purchased"), purchased),
      kpi("conversion", t("k_conversion"), percent(started ? purchased / started : null)),
      kpi("awaiting", t("k_awaiting"), dash(data.awaiting_store_payment)),
      kpi("median-time", t("k_median_time"), duration(purchase.median_seconds)),
      kpi("median-turns", t("k_median_turns"), decimal(purchase.median_user_turns, 1)),
      kpi("calls", t("k_calls"), decimal(purchase.model_calls_per_purchase, 1)),
      kpi("tokens", t("k_tokens"), typeof purchase.tokens_per_purchase === "number"
        ? Math.round(purchase.tokens_per_purchase).toLocaleString("en-US") : "—"));

    document.getElementById("funnel-chart").replaceChildren(funnelChart(data.stages || []));
    renderDropoff();
    renderVariants();
    renderBreakdown();
  }

  // Horizontal bars, one per stage, widths relative to the started count.
  function funnelChart(stages) {
    const rowHeight = 34, labelWidth = 170, barWidth = 300, valueWidth = 130, top = 6;
    const width = labelWidth + barWidth + valueWidth;
    const height = top * 2 + rowHeight * stages.length;
    const most = Math.max(1, ...stages.map((item) => Number(item.count || 0)));
    const chart = s("svg", {
      class: "funnel-svg", viewBox: `0 0 ${width} ${height}`, width: "100%", role: "img",
      "aria-label": t("funnel_chart")
    });
    stages.forEach((item, index) => {
      const y = top + index * rowHeight;
      const count = Number(item.count || 0);
      const length = count ? Math.max(2, (count / most) * barWidth) : 0;
      const share = percent(item.share_of_started);
      chart.append(s("g", { class: "funnel-bar stage-" + item.stage, "data-stage": item.stage, "data-count": count },
        s("title", { text: `${stageName(item.stage)}: ${count} (${share})` }),
        s("text", { class: "funnel-label", x: labelWidth - 10, y: y + rowHeight / 2, "text-anchor": "end",
          "dominant-baseline": "central", text: stageName(item.stage) }),
        s("rect", { class: "funnel-track", x: labelWidth, y: y + 5, width: barWidth, height: rowHeight - 10, rx: 4 }),
        s("rect", { class: "funnel-fill", x: labelWidth, y: y + 5, width: length.toFixed(1),
          height: rowHeight - 10, rx: 4 }),
        s("text", { class: "funnel-value", x: labelWidth + barWidth + 10, y: y + rowHeight / 2,
          "dominant-baseline": "central" },
        s("tspan", { class: "funnel-count", text: String(count) }),
        s("tspan", { class: "funnel-share", dx: 8, text: share }))));
    });
    return chart;
  }

  function renderDropoff() {
    const data = state.funnel;
    const stopped = data.stopped_at || {};
    const rows = (data.stages || []).map((item) => h("tr", { "data-stage": item.stage },
      h("th", { scope: "row", text: stageName(item.stage) }),
      td(String(item.count ?? 0), true),
      td(percent(item.share_of_started), true),
      td(percent(item.drop_off_from_previous), true),
      td(item.stage === "purchased" ? "—" : String(stopped[item.stage] ?? 0), true)));
    document.getElementById("dropoff-table").replaceChildren(table(
      [t("stage"), { text: t("count"), num: true }, { text: t("share"), num: true },
        { text: t("drop"), num: true }, { text: t("stopped_here"), num: true }], rows));
  }

  function renderVariants() {
    const variants = state.funnel.variants || [];
    const target = document.getElementById("ab-table");
    if (!variants.length) {
      target.replaceChildren(h("p", { class: "muted", text: t("no_variants") }));
      return;
    }
    const rows = variants.map((item) => {
      const isControl = item.control === item.variant; // `control` names the control variant
      const badge = isControl ? h("span", { class: "badge badge-control", text: t("control") })
        : item.significant ? h("span", { class: "badge badge-significant", text: t("significant") })
          : h("span", { class: "badge badge-muted", text: t("not_significant") });
      return h("tr", { "data-variant": item.variant },
        h("th", { scope: "row", text: String(item.variant) }),
        td(String(item.conversations ?? 0), true), td(String(item.purchases ?? 0), true),
        td(percent(item.conversion), true),
        td(isControl ? "—" : decimal(item.z, 2), true), td(isControl ? "—" : pValue(item.p_value), true),
        td(badge));
    });
    target.replaceChildren(table([t("variant"), { text: t("conversations_n"), num: true },
      { text: t("purchases"), num: true }, { text: t("conversion"), num: true },
      { text: t("z"), num: true }, { text: t("p"), num: true }, t("result")], rows));
  }

  function renderBreakdown() {
    const tabs = document.getElementById("breakdown-tabs");
    tabs.replaceChildren(...BREAKDOWNS.map((name) => h("button", {
      type: "button", role: "tab", class: "tab", "data-breakdown": name,
      "aria-selected": String(name === state.breakdown),
      onclick: () => { state.breakdown = name; renderBreakdown(); }
    }, t("b_" + name))));
    const groups = ((state.funnel && state.funnel.by) || {})[state.breakdown] || {};
    const keys = Object.keys(groups).sort();
    const target = document.getElementById("breakdown-table");
    if (!keys.length) {
      target.replaceChildren(h("p", { class: "muted", text: t("no_rows") }));
      return;
    }
    const middle = STAGES.slice(1, -1); // started and purchased are the two first columns
    const label = (key) => (state.breakdown === "payment_method" ? methodName(key === "none" ? "" : key)
      : key);
    const rows = keys.map((key) => {
      const group = groups[key] || {};
      return h("tr", { "data-key": key },
        h("th", { scope: "row", text: label(key) }),
        td(String(group.conversations ?? 0), true), td(String(group.purchases ?? 0), true),
        td(percent(group.conversion), true),
        ...middle.map((stage) => td(String(stageCount(group.stages, stage)), true)));
    });
    target.replaceChildren(table([t("bh_" + state.breakdown),
      { text: t("conversations_n"), num: true }, { text: t("purchases"), num: true },
      { text: t("conversion"), num: true }, ...middle.map((stage) => ({ text: stageName(stage), num: true }))],
    rows, { class: "compact" }));
  }

  // ---------------------------------------------------------------- conversations

  function fillFilterOptions() {
    const options = (select, values, name) => {
      const chosen = select.value;
      select.replaceChildren(h("option", { value: "" }, t("any")),
        ...values.map((value) => h("option", { value }, name(value))));
      select.value = chosen;
    };
    options(document.getElementById("f-status"), STATUSES, statusName);
    options(document.getElementById("f-stage"), STAGES, stageName);
  }

  function renderConversations() {
    const list = state.list;
    if (!list) return;
    const items = list.conversations || [];
    const target = document.getElementById("conversation-table");
    const total = Number(list.total || 0);
    document.getElementById("page-label").textContent = total
      ? t("page_label", { from: state.offset + 1, to: state.offset + items.length, total }) : t("page_empty");
    document.getElementById("prev").disabled = state.offset === 0;
    document.getElementById("next").disabled = state.offset + items.length >= total;
    const rows = items.map((item) => {
      const order = item.order;
      return h("tr", { class: "conversation-row", "data-id": item.id, "data-stage": item.stage },
        td(tokyoTime(item.created_at)),
        h("td", null, h("button", {
          type: "button", class: "link open-conversation", "data-id": item.id,
          "aria-label": t("open", { id: item.id }), onclick: () => openConversation(item.id)
        }, String(item.id).slice(0, 8))),
        td(String(item.locale ?? "")), td(variantName(item.prompt_variant)),
        td(h("span", { class: "stage-pill stage-" + item.stage, text: stageName(item.stage) })),
        td(String(item.user_turns ?? 0), true),
        td(order ? h("span", { class: "order-cell" },
          h("code", { text: String(order.id) }), " ",
          h("span", { class: "badge status-" + order.status, text: statusName(order.status) }), " ",
          yen(order.total, order.currency)) : "—"));
    });
    target.replaceChildren(items.length ? table([t("c_started"), t("c_id"), t("c_locale"), t("c_variant"),
      t("c_stage"), { text: t("c_turns"), num: true }, t("c_order")], rows)
      : h("p", { class: "muted", text: t("page_empty") }));
  }

  // One short line per widget: what the shopper saw, never its personal fields.
  function describeWidget(widget) {
    const kind = String((widget && widget.kind) || "");
    if (kind === "product_list") {
      const products = widget.products || [];
      return t("w_product_list", { n: products.length,
        names: products.slice(0, 5).map((p) => p.sku || p.name).join(", ") });
    }
    if (kind === "cart") return t("w_cart", { n: (widget.lines || []).length, total: yen(widget.total, widget.currency) });
    if (kind === "confirm") {
      return t("w_confirm", { total: yen(widget.total, widget.currency), method: methodName(widget.payment_method) });
    }
    if (kind === "receipt") return t("w_receipt", { order: widget.order_id, status: statusName(widget.status) });
    if (kind === "konbini_slip") return t("w_konbini_slip", { order: widget.order_id });
    return has("w_" + kind) ? t("w_" + kind) : t("w_other", { kind: kind.replace(/_/g, " ") });
  }

  function renderDetail() {
    const detail = state.detail;
    const section = document.getElementById("detail");
    if (!detail) { section.hidden = true; return; }
    section.hidden = false;
    section.dataset.id = detail.id;
    const fact = (label, value) => [h("dt", { text: label }), h("dd", null, value)];
    document.getElementById("detail-facts").replaceChildren(
      ...fact(t("c_id"), h("code", { text: String(detail.id) })),
      ...fact(t("created"), tokyoTime(detail.created_at)),
      ...fact(t("c_locale"), String(detail.locale ?? "")),
      ...fact(t("c_variant"), variantName(detail.prompt_variant)),
      ...fact(t("c_stage"), stageName(detail.stage)));
    const events = detail.transcript || [];
    document.getElementById("transcript").replaceChildren(...(events.length ? events.map((event) => {
      if (event.type === "message") {
        const user = event.role === "user";
        return h("li", { class: "event message " + (user ? "from-user" : "from-shop") },
          h("span", { class: "who", text: user ? t("you") : t("shop") }),
          h("span", { class: "text", text: String(event.text ?? "") }));
      }
      if (event.type === "widget") {
        return h("li", { class: "event widget-line", "data-kind": (event.widget && event.widget.kind) || "" },
          h("span", { class: "who", text: t("widget") }),
          h("span", { class: "text", text: describeWidget(event.widget) }));
      }
      return h("li", { class: "event other" }, h("span", { class: "text", text: String(event.type) }));
    }) : [h("li", { class: "muted", text: t("no_events") })]));
    const orders = detail.orders || [];
    document.getElementById("orders").replaceChildren(...(orders.length ? orders.map((order) =>
      h("article", { class: "order", "data-order-id": order.id },
        h("p", { class: "order-head" }, h("code", { text: String(order.id) }), " ",
          h("span", { class: "badge status-" + order.status, text: statusName(order.status) }), " ",
          methodName(order.payment_method), " · ", h("strong", { text: yen(order.total, order.currency) })),
        h("p", { class: "muted", text: tokyoTime(order.created_at) }),
        table([t("sku"), t("item"), { text: t("qty"), num: true }, { text: t("unit_price"), num: true }],
          (order.lines || []).map((line) => h("tr", null, td(String(line.sku ?? "")), td(String(line.name ?? "")),
            td(String(line.quantity ?? ""), true), td(yen(line.unit_price, order.currency), true))),
          { class: "compact" })))
      : [h("p", { class: "muted", text: t("no_orders") })]));
  }

  // ---------------------------------------------------------------- start

  function renderAll() {
    fillFilterOptions();
    renderFunnel();
    renderConversations();
    renderDetail();
  }

  function startDashboard() {
    applyStaticText();
    fillFilterOptions();
    bindLanguage(renderAll);
    const days = document.getElementById("days");
    state.days = Number(days.value) || 30;
    days.addEventListener("change", () => { state.days = Number(days.value) || 30; loadFunnel(); });
    document.getElementById("filters").addEventListener("submit", (event) => {
      event.preventDefault();
      const form = event.currentTarget;
      state.filters = { order_id: form.order_id.value.trim(), status: form.status.value, stage: form.stage.value };
      state.offset = 0;
      loadConversations();
    });
    document.getElementById("prev").addEventListener("click", () => {
      state.offset = Math.max(0, state.offset - PAGE_SIZE);
      loadConversations();
    });
    document.getElementById("next").addEventListener("click", () => {
      state.offset += PAGE_SIZE;
      loadConversations();
    });
    document.getElementById("close-detail").addEventListener("click", () => {
      state.detail = null;
      renderDetail();
    });
    document.getElementById("logout").addEventListener("click", async () => {
      try { await fetch("/operator/logout", { method: "POST", credentials: "same-origin" }); } catch (err) { /* */ }
      window.location.assign("/operator");
    });
    // Both loads run together; aria-busy turns false when the last one has rendered.
    const main = document.getElementById("dashboard");
    state.loading += 1;
    Promise.allSettled([loadFunnel(), loadConversations()]).finally(() => {
      state.loading -= 1;
      if (state.loading === 0) main.setAttribute("aria-busy", "false");
    });
  }

  if (document.body.dataset.view === "login") startLogin();
  else startDashboard();
})();
