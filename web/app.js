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
  const why = document.getElementById("why");
  const whySummary = document.getElementById("why-summary");
  const whyReview = document.getElementById("why-review");
  const whySentences = document.getElementById("why-sentences");
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

  function percent(p) {
    return (p * 100).toFixed(1) + " %";
  }

  function showVerdict(body, review) {
    error.hidden = true;
    const p = Number(body.probability);
    // An older API answers without "label" or with only positive/negative: both still read.
    const label = body.label === "uncertain" ? "uncertain"
      : body.sentiment === 1 ? "positive" : "negative";
    const known = !isEvidence(body.evidence) || body.evidence.terms.length > 0 ||
      body.evidence.unlisted.terms > 0;
    if (label === "uncertain") {
      verdict.textContent = "Not sure";
      probability.textContent = !known
        ? "The model knows none of these words, so it cannot tell whether this review is " +
          "positive or negative."
        : "The model cannot tell: it gives this review " +
          (Number.isFinite(p) ? percent(p) : "an even") + " chance of being positive.";
    } else {
      verdict.textContent = label === "positive" ? "Positive" : "Negative";
      probability.textContent = Number.isFinite(p)
        ? "Probability of a positive review: " + percent(p)
        : "";
    }
    verdict.className = label;
    showWhy(body.evidence, review);
    result.hidden = false;
  }

  const WORD = /[\p{L}\p{N}\p{M}_'\u2019]/u;

  // The API counts offsets in Unicode code points; JavaScript strings index UTF-16 units
  // (an emoji is one code point, two units). utf16[i] is where code point i starts.
  function utf16Offsets(text) {
    const offsets = [0];
    let unit = 0;
    for (const ch of text) {
      unit += ch.length;
      offsets.push(unit);
    }
    return offsets;
  }

  function isEvidence(evidence) {
    return evidence && typeof evidence === "object" && Array.isArray(evidence.terms) &&
      Array.isArray(evidence.sentences) && evidence.unlisted &&
      typeof evidence.unlisted === "object";
  }

  function showWhy(evidence, review) {
    whyReview.replaceChildren();
    whySentences.replaceChildren();
    if (!isEvidence(evidence)) {
      why.hidden = true; // an API without evidence (an older deploy): the verdict alone
      return;
    }
    const units = utf16Offsets(review);
    const chars = Array.from(review);
    const codePoints = chars.length;
    const isWord = (k) => WORD.test(chars[k]);
    // Each code point belongs to the strongest listed term that covers it. A word pair
    // ("not good", spanning "not very good") marks its two words, not what lies between.
    const owner = new Array(codePoints).fill(null);
    const paint = (term, start, end) => {
      for (let k = start; k < end; k++) {
        if (owner[k] === null) owner[k] = term;
      }
    };
    const terms = evidence.terms.slice().sort(
      (a, b) => Math.abs(b.contribution) - Math.abs(a.contribution));
    for (const term of terms) {
      for (const span of term.spans || []) {
        const start = Math.max(0, span[0]);
        const end = Math.min(codePoints, span[1]);
        if (String(term.term).indexOf(" ") < 0) {
          paint(term, start, end);
          continue;
        }
        let first = start;
        while (first < end && isWord(first)) first++;
        let last = end;
        while (last > first && isWord(last - 1)) last--;
        paint(term, start, first);
        paint(term, last, end);
      }
    }
    let i = 0;
    while (i < codePoints) {
      const term = owner[i];
      let j = i + 1;
      while (j < codePoints && owner[j] === term) j++;
      const text = review.slice(units[i], units[j]);
      if (term === null) {
        whyReview.append(text);
      } else {
        const positive = term.contribution > 0;
        const mark = document.createElement("mark");
        mark.className = positive ? "pos" : "neg";
        const sign = document.createElement("span");
        sign.className = "sign";
        sign.setAttribute("aria-hidden", "true");
        sign.textContent = positive ? "\u25b2" : "\u25bc";
        const hidden = document.createElement("span");
        hidden.className = "sr-only";
        hidden.textContent = positive ? " (for positive)" : " (for negative)";
        mark.append(sign, text, hidden);
        mark.title = (positive ? "+" : "") + term.contribution.toFixed(2) + " (" + term.term + ")";
        whyReview.append(mark);
      }
      i = j;
    }
    const pushes = terms.filter((t) => t.contribution !== 0).length;
    whySummary.textContent = pushes
      ? "The verdict adds up the weight of every word and word pair the model knows; " +
        "the strongest are marked \u25b2 (pushing towards positive, solid underline) or " +
        "\u25bc (towards negative, dashed underline)."
      : "None of the words in this review carry any weight for the model.";
    // With no known word, every sentence is only the intercept: nothing to rank.
    const sentences = pushes === 0 ? []
      : evidence.sentences.slice().sort((a, b) => a.probability - b.probability);
    for (const sentence of sentences) {
      const item = document.createElement("li");
      const score = document.createElement("span");
      const positive = sentence.probability >= 0.5;
      score.className = "score " + (positive ? "pos" : "neg");
      score.textContent = percent(sentence.probability) + " positive";
      const start = units[Math.max(0, Math.min(codePoints, sentence.start))];
      const end = units[Math.max(0, Math.min(codePoints, sentence.end))];
      item.append(score, " ", review.slice(start, end));
      whySentences.append(item);
    }
    document.getElementById("sentences-title").hidden = sentences.length === 0;
    why.hidden = false;
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
      showVerdict(body, review);
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
