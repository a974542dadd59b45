// Copy to config.js (or let `sentiment up` / `sentiment deploy` write it).
// The page can also be pointed at an API with ?api=https://... in its URL.
window.SENTIMENT_CONFIG = {
  apiUrl: "http://127.0.0.1:8000/",
  maxReviewBytes: 100000,
};
