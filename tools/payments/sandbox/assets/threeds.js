// 3-D Secure challenge of the sandbox gateway. Sends the one-time code to this origin, then tells
// the merchant page the challenge is over (postMessage to the one validated origin) or, when the
// page was opened on its own, goes back to the merchant's return URL recorded with the charge.
"use strict";
(function () {
  const form = document.getElementById("threeds-form");
  const parentOrigin = form.dataset.parentOrigin; // empty when not framed by an allowed origin
  const paymentRef = form.dataset.paymentRef;
  const locale = form.dataset.locale === "ja" ? "ja" : "en";
  const MESSAGES = {
    en: { approved: "Verified. You can return to the chat.",
          declined: "Verification failed. The payment was not made.",
          network: "Could not reach the card issuer. Please try again." },
    ja: { approved: "認証が完了しました。チャットにお戻りください。",
          declined: "認証に失敗しました。お支払いは行われていません。",
          network: "カード会社に接続できませんでした。もう一度お試しください。" }
  }[locale];
  const el = (id) => document.getElementById(id);

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    el("form-error").textContent = "";
    el("submit").disabled = true;
    let result;
    try {
      const response = await fetch(window.location.pathname, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "omit",
        cache: "no-store",
        body: JSON.stringify({ code: el("code").value })
      });
      if (!response.ok) throw new Error("HTTP " + response.status);
      result = await response.json();
    } catch (err) {
      el("form-error").textContent = MESSAGES.network;
      el("submit").disabled = false;
      return;
    }
    el("done").textContent = MESSAGES[result.status] || MESSAGES.declined;
    el("code").disabled = true;
    if (parentOrigin && window.parent !== window) {
      window.parent.postMessage({
        type: "chatpay.threeds_done", payment_ref: paymentRef, status: result.status
      }, parentOrigin);
    } else if (result.return_url) {
      window.location.assign(result.return_url);
    }
  });
})();
