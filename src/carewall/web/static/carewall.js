// Carewall page behaviour. No inline scripts anywhere (CSP script-src 'self').
"use strict";

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  return meta ? meta.content : "";
}

// Warn before the idle sign-out (HIPAA automatic logoff) and let the user stay.
// At the deadline the page asks the server how much time is really left (without
// counting as activity: another tab may have kept the session alive); when none is,
// it ends the session on the server itself and shows the sign-in page.
function setupIdleWarning() {
  const seconds = Number(document.body.dataset.sessionSeconds || 0);
  const box = document.getElementById("idle-warning");
  if (!seconds || !box) return;
  let deadline = Date.now() + seconds * 1000;
  const countdown = document.getElementById("idle-countdown");
  const signOut = async () => {
    try {
      await fetch("/logout", {
        method: "POST",
        credentials: "same-origin",
        redirect: "manual",
        headers: {"X-CSRF-Token": csrfToken(), "Content-Type": "application/x-www-form-urlencoded"},
        body: "reason=idle",
      });
    } finally {
      window.location.assign("/login?expired=1");
    }
  };
  const askServer = async () => {
    try {
      const response = await fetch("/api/v1/session/status", {
        credentials: "same-origin", headers: {"Accept": "application/json"},
      });
      if (response.ok) {
        const body = await response.json();
        if (body.seconds_left > 0) {
          deadline = Date.now() + body.seconds_left * 1000;
          if (body.seconds_left > 60) box.hidden = true;
          setTimeout(tick, 1000);
          return;
        }
      }
    } catch (error) {
      // The server cannot be asked: sign out here all the same.
    }
    await signOut();
  };
  const tick = () => {
    const left = Math.ceil((deadline - Date.now()) / 1000);
    if (left <= 0) { askServer(); return; }
    if (left <= 60) { box.hidden = false; countdown.textContent = String(left); }
    setTimeout(tick, 1000);
  };
  document.getElementById("idle-stay").addEventListener("click", async () => {
    const response = await fetch("/api/v1/session/ping", {credentials: "same-origin"});
    if (response.ok) {
      const body = await response.json();
      deadline = Date.now() + body.seconds_left * 1000;
      box.hidden = true;
    } else {
      window.location.assign("/login?expired=1");
    }
  });
  setTimeout(tick, 1000);
}

// Live password strength feedback, computed by the server (same rules as on submit).
function setupPasswordMeters() {
  for (const input of document.querySelectorAll("input[data-strength]")) {
    const meter = document.getElementById(input.dataset.strength);
    const list = document.getElementById(input.dataset.strength + "-feedback");
    let timer = null;
    input.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(async () => {
        const response = await fetch("/api/v1/password/feedback", {
          method: "POST",
          credentials: "same-origin",
          headers: {"Content-Type": "application/json", "X-CSRF-Token": csrfToken()},
          body: JSON.stringify({password: input.value, email: input.dataset.email || ""}),
        });
        if (!response.ok) return;
        const body = await response.json();
        meter.dataset.score = String(body.score);
        meter.querySelector("span").style.width = `${(body.score + 1) * 20}%`;
        list.replaceChildren(...[...body.problems, ...body.suggestions].map((text) => {
          const item = document.createElement("li");
          item.textContent = text;
          return item;
        }));
        if (body.acceptable && input.value) {
          const ok = document.createElement("li");
          ok.textContent = "This password is acceptable.";
          list.prepend(ok);
        }
      }, 250);
    });
  }
}

// A form kept through a step-up: submit it again straight away (the person already
// asked for it and has just confirmed it is them); without scripts, Continue does it.
function submitResumedForms() {
  const form = document.querySelector("form[data-resume][data-autosubmit]");
  if (form) form.requestSubmit();
}

// On narrow screens the header's links fold behind a Menu button (a disclosure:
// aria-expanded says whether they show). Without scripts they stay listed.
function setupMenu() {
  const button = document.getElementById("nav-toggle");
  const nav = document.getElementById("site-nav");
  if (!button || !nav) return;
  document.documentElement.classList.add("js-menu");
  button.hidden = false;
  button.addEventListener("click", () => {
    const open = button.getAttribute("aria-expanded") !== "true";
    button.setAttribute("aria-expanded", String(open));
    nav.classList.toggle("open", open);
  });
}

// Wide tables scroll sideways inside their own box instead of widening the page.
function wrapTables() {
  for (const table of document.querySelectorAll("main table")) {
    if (table.parentElement && table.parentElement.classList.contains("table-scroll")) continue;
    const box = document.createElement("div");
    box.className = "table-scroll";
    box.tabIndex = 0;
    box.setAttribute("role", "region");
    const caption = table.querySelector("caption");
    box.setAttribute("aria-label", caption ? caption.textContent.trim() : "Table");
    table.parentElement.insertBefore(box, table);
    box.appendChild(table);
  }
}

document.addEventListener("DOMContentLoaded", () => {
  setupMenu();
  wrapTables();
  for (const el of document.querySelectorAll(".flash")) {
    el.addEventListener("click", () => el.remove());
  }
  setupIdleWarning();
  setupPasswordMeters();
  submitResumedForms();
});
