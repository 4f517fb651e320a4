// Carewall page behaviour. No inline scripts anywhere (CSP script-src 'self').
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Let flash messages be dismissed with a click.
  for (const el of document.querySelectorAll(".flash")) {
    el.addEventListener("click", () => el.remove());
  }
});
