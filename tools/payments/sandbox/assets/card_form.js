// Card fields of the sandbox gateway. Runs on the gateway's origin, inside the merchant's iframe.
// It checks the card locally (for quick inline errors), tokenises it with this origin's
// POST /v1/tokens, and hands only the token and public facts to the parent window, addressed to the
// one origin the server validated. The number and security code never leave this frame otherwise.
"use strict";
(function () {
  const form = document.getElementById("card-form");
  const parentOrigin = form.dataset.parentOrigin; // validated server-side against the allow-list
  const session = form.dataset.session || null;
  const locale = form.dataset.locale === "ja" ? "ja" : "en";
  const MESSAGES = {
    en: {
      invalid_number: "Check the card number.",
      invalid_expiry: "Enter the expiry as MM/YY.",
      expired_card: "This card has expired.",
      invalid_cvc: "Enter the security code (3 digits, 4 for American Express).",
      invalid_name: "Enter the name as printed on the card.",
      network: "Could not reach the payment service. Please try again.",
      failed: "The card could not be saved. Please check it and try again.",
      saved: "Card saved: "
    },
    ja: {
      invalid_number: "カード番号をご確認ください。",
      invalid_expiry: "有効期限を MM/YY の形式で入力してください。",
      expired_card: "このカードは有効期限が切れています。",
      invalid_cvc: "セキュリティコードを入力してください（3桁、American Express は4桁）。",
      invalid_name: "カードに記載されている名義を入力してください。",
      network: "決済サービスに接続できませんでした。もう一度お試しください。",
      failed: "カードを登録できませんでした。内容をご確認のうえ、もう一度お試しください。",
      saved: "カードを登録しました: "
    }
  }[locale];
  const FIELD_OF = {
    invalid_number: "number", invalid_expiry: "exp", expired_card: "exp",
    invalid_cvc: "cvc", invalid_name: "name"
  };
  const input = (id) => document.getElementById(id);

  function digits(value) { return value.replace(/[ -]/g, ""); }

  function luhn(number) {
    let total = 0;
    for (let i = 0; i < number.length; i++) {
      let d = Number(number[number.length - 1 - i]);
      if (i % 2 === 1) { d *= 2; if (d > 9) d -= 9; }
      total += d;
    }
    return total % 10 === 0;
  }

  // Mirrors tools/payments/sandbox/cards.py detect_brand.
  function brandOf(number) {
    const p2 = Number(number.slice(0, 2)), p3 = Number(number.slice(0, 3));
    const p4 = Number(number.slice(0, 4));
    if (number.startsWith("4")) return "visa";
    if (p2 === 34 || p2 === 37) return "amex";
    if ((p2 >= 51 && p2 <= 55) || (p4 >= 2221 && p4 <= 2720)) return "mastercard";
    if (p4 >= 3528 && p4 <= 3589) return "jcb";
    if (p2 === 36 || (p3 >= 300 && p3 <= 305)) return "diners";
    return "unknown";
  }

  function parseExpiry(value) {
    const m = /^\s*(\d{1,2})\s*\/\s*(\d{2}|\d{4})\s*$/.exec(value);
    if (!m) return null;
    const month = Number(m[1]);
    let year = Number(m[2]);
    if (year < 100) year += 2000;
    return month >= 1 && month <= 12 ? { month, year } : null;
  }

  function showError(field, code) {
    const el = input(field + "-error");
    el.textContent = code ? MESSAGES[code] : "";
    if (field !== "form") input(field).setAttribute("aria-invalid", code ? "true" : "false");
  }

  function check() {
    const number = digits(input("number").value);
    const brand = brandOf(number);
    const errors = {};
    if (!/^\d{13,19}$/.test(number) || !luhn(number)) errors.number = "invalid_number";
    const exp = parseExpiry(input("exp").value);
    const now = new Date();
    if (!exp) errors.exp = "invalid_expiry";
    else if (exp.year * 12 + exp.month < now.getFullYear() * 12 + now.getMonth() + 1) {
      errors.exp = "expired_card";
    }
    const cvc = input("cvc").value.trim();
    if (!new RegExp("^\\d{" + (brand === "amex" ? 4 : 3) + "}$").test(cvc)) errors.cvc = "invalid_cvc";
    const name = input("name").value.trim();
    if (!name || /\d/.test(name)) errors.name = "invalid_name";
    for (const field of ["number", "exp", "cvc", "name"]) showError(field, errors[field]);
    return Object.keys(errors).length === 0 ? { number, exp, cvc, name } : null;
  }

  input("number").addEventListener("input", () => {
    const brand = brandOf(digits(input("number").value));
    input("brand").textContent = brand === "unknown" ? "" : brand;
  });

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    showError("form", null);
    input("done").textContent = "";
    const card = check();
    if (!card) return;
    const button = input("submit");
    button.disabled = true;
    try {
      const response = await fetch("/v1/tokens", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        credentials: "omit",
        cache: "no-store",
        body: JSON.stringify({
          number: card.number, exp_month: card.exp.month, exp_year: card.exp.year,
          cvc: card.cvc, name: card.name, session: session
        })
      });
      const body = await response.json();
      if (!response.ok) {
        const code = body && body.error && body.error.code;
        if (FIELD_OF[code]) showError(FIELD_OF[code], code); else showError("form", "failed");
        return;
      }
      // Nothing of the card stays in the page once the token exists.
      form.reset();
      input("brand").textContent = "";
      input("done").textContent = MESSAGES.saved + body.brand + " •••• " + body.last4;
      window.parent.postMessage({
        type: "chatpay.card_token", token: body.token, brand: body.brand, last4: body.last4,
        exp_month: body.exp_month, exp_year: body.exp_year, session: session
      }, parentOrigin);
    } catch (err) {
      showError("form", "network");
    } finally {
      button.disabled = false;
    }
  });
})();
