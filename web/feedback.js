// "Was this right?" under each answer: one click sends {prediction_id, review, label} to
// POST /feedback, where a person reviews it before any training uses it. Plain JavaScript;
// app.js calls window.SentimentFeedback.offer(...) after showing a verdict.
"use strict";

(function () {
  const box = document.getElementById("feedback");
  const question = document.getElementById("feedback-question");
  const yes = document.getElementById("feedback-yes");
  const no = document.getElementById("feedback-no");
  const status = document.getElementById("feedback-status");
  let current = null;

  function feedbackUrl(apiUrl) {
    return new URL("feedback", apiUrl.endsWith("/") ? apiUrl : apiUrl + "/").toString();
  }

  function reset() {
    current = null;
    box.hidden = true;
    status.textContent = "";
    question.hidden = yes.hidden = no.hidden = false;
    yes.disabled = no.disabled = false;
  }

  // Offer the question for this answer; only a JSON answer with its id can be referred to.
  function offer(apiUrl, review, body) {
    reset();
    if (!body || typeof body.prediction_id !== "string") {
      return;
    }
    // A "not sure" answer took no side: ask which it is instead.
    const unsure = body.label === "uncertain";
    current = {
      url: feedbackUrl(apiUrl),
      predictionId: body.prediction_id,
      review: review,
      label: body.sentiment === 1 ? "positive" : "negative",
      unsure: unsure,
    };
    question.textContent = unsure ? "Was it positive or negative?" : "Was this right?";
    yes.textContent = unsure ? "Positive" : "Yes";
    no.textContent = unsure ? "Negative" : "No";
    box.hidden = false;
  }

  async function send(right) {
    if (!current) {
      return;
    }
    const sent = current;
    const other = sent.label === "positive" ? "negative" : "positive";
    const label = sent.unsure ? (right ? "positive" : "negative") : (right ? sent.label : other);
    yes.disabled = no.disabled = true;
    status.textContent = "Sending…";
    try {
      const response = await fetch(sent.url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify({ prediction_id: sent.predictionId, review: sent.review, label: label }),
      });
      if (current !== sent) {
        return; // a newer answer replaced this one meanwhile
      }
      if (response.ok) {
        question.hidden = yes.hidden = no.hidden = true;
        status.textContent = "Thanks, noted.";
      } else {
        status.textContent = "Your answer could not be sent; please try again.";
        yes.disabled = no.disabled = false;
      }
    } catch (_) {
      if (current === sent) {
        status.textContent = "Your answer could not be sent; please try again.";
        yes.disabled = no.disabled = false;
      }
    }
  }

  yes.addEventListener("click", () => send(true));
  no.addEventListener("click", () => send(false));
  window.SentimentFeedback = { offer: offer, reset: reset };
})();
