// The review page: posts the review as JSON to the API and shows the verdict.
// Plain JavaScript, no build step. The API URL comes from ?api=... or config.js.
"use strict";

(function () {
  const config = window.SENTIMENT_CONFIG || {};
  const params = new URLSearchParams(window.location.search);
  const apiUrl = params.get("api") || config.apiUrl || "";
  const maxBytes = Number(config.maxReviewBytes) || 100000;
  const timeoutMs = Number(config.timeoutMs) || 30000;

  const form = document.getElementById("review-form");
  const textarea = document.getElementById("review");
  const button = document.getElementById("submit");
  const counter = document.getElementById("counter");
  const result = document.getElementById("result");
  const verdict = document.getElementById("verdict");
  const probability = document.getElementById("probability");
  const error = document.getElementById("error");
  const apiInfo = document.getElementById("api-info");
  const encoder = new TextEncoder();

  apiInfo.textContent = apiUrl ? "API: " + apiUrl : "";

  // What each status means to the person typing, in one sentence.
  const STATUS_MESSAGES = {
    400: "The review could not be read. Please check the text and try again.",
    403: "The page is calling an address that is not the sentiment API. Check the API URL.",
    404: "The page is calling an address that is not the sentiment API. Check the API URL.",
    405: "The page called the API the wrong way. Please reload the page.",
    413: "The review is too long for the service.",
    415: "The page sent the review in a format the service does not accept. Please reload.",
    429: "The service is busy right now. Please wait a moment and try again.",
    500: "Something went wrong on our side. Please try again.",
    502: "The model gave an answer we could not understand. Please try again.",
    503: "The service is starting up or being updated. Please try again in a few seconds.",
    501: "The page is calling an address that is not the sentiment API. Check the API URL.",
    504: "The model took too long to answer. Please try again.",
  };

  // "Was this right?" (feedback.js): offered after each answer, withdrawn on an error.
  const feedback = window.SentimentFeedback || { offer: function () {}, reset: function () {} };

  function showError(message) {
    feedback.reset();
    result.hidden = true;
    error.textContent = message;
    error.hidden = false;
  }

  function showVerdict(body) {
    error.hidden = true;
    const positive = body.sentiment === 1;
    verdict.textContent = positive ? "Positive" : "Negative";
    verdict.className = positive ? "positive" : "negative";
    const p = Number(body.probability);
    probability.textContent = Number.isFinite(p)
      ? "Probability of a positive review: " + (p * 100).toFixed(1) + " %"
      : "";
    result.hidden = false;
  }

  function setBusy(busy) {
    button.disabled = busy;
    button.textContent = busy ? "Classifying…" : "Classify";
    form.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function updateCounter() {
    const bytes = encoder.encode(textarea.value).length;
    counter.textContent = bytes > maxBytes * 0.8
      ? bytes.toLocaleString() + " / " + maxBytes.toLocaleString() + " bytes"
      : "";
  }

  async function messageFor(response) {
    let detail = "";
    try {
      const body = await response.json();
      // Only the API's own errors ({"error", "message"}) are its sentences to show.
      detail = typeof body.error === "string" && typeof body.message === "string"
        ? body.message
        : "";
    } catch (_) {
      detail = "";
    }
    const base = STATUS_MESSAGES[response.status] ||
      (response.status >= 500 ? STATUS_MESSAGES[500] : STATUS_MESSAGES[400]);
    const retry = response.headers.get("Retry-After");
    const wait = retry && /^\d+$/.test(retry) ? " (retry in " + retry + " s)" : "";
    return detail && response.status < 500 ? detail : base + wait;
  }

  async function classify(review) {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), timeoutMs);
    try {
      const response = await fetch(apiUrl, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ review: review }),
        signal: controller.signal,
      });
      if (!response.ok) {
        showError(await messageFor(response));
        return;
      }
      let body = null;
      try {
        body = await response.json();
      } catch (_) {
        body = null;
      }
      if (!body || (body.sentiment !== 0 && body.sentiment !== 1)) {
        showError("The service answered in a way this page cannot read. Check the API URL.");
        return;
      }
      showVerdict(body);
      feedback.offer(apiUrl, review, body);
    } catch (err) {
      if (err.name === "AbortError") {
        showError(STATUS_MESSAGES[504]);
      } else {
        showError("Could not reach the service. Check your connection and try again.");
      }
    } finally {
      clearTimeout(timer);
    }
  }

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const review = textarea.value;
    if (!apiUrl) {
      showError("This page does not know where the API is: add ?api=URL to the address.");
      return;
    }
    if (review.trim() === "") {
      showError("Please type a review first.");
      return;
    }
    if (encoder.encode(review).length > maxBytes) {
      showError("The review is too long: please keep it under " +
        Math.floor(maxBytes / 1000) + " KB.");
      return;
    }
    setBusy(true);
    try {
      await classify(review);
    } finally {
      setBusy(false);
    }
  });

  textarea.addEventListener("input", updateCounter);
})();
