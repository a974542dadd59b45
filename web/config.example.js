// Copy to config.js (or let `sentiment deploy-api` write it; `sentiment up` serves its own).
// The page can also be pointed at an API with ?api=https://... in its URL.
window.SENTIMENT_CONFIG = {
  apiUrl: "http://127.0.0.1:8000/",
  maxReviewBytes: 100000,
};
