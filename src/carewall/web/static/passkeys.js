// Passkeys (WebAuthn): registration, second factor, step-up and passwordless sign-in.
// The server sends options as JSON (binary fields base64url); this file turns them into
// ArrayBuffers for navigator.credentials and the answers back into JSON.
"use strict";

(() => {
  function toBuffer(base64url) {
    const base64 = base64url.replace(/-/g, "+").replace(/_/g, "/");
    const padded = base64 + "=".repeat((4 - (base64.length % 4)) % 4);
    return Uint8Array.from(atob(padded), (ch) => ch.charCodeAt(0)).buffer;
  }

  function toBase64url(buffer) {
    const bytes = new Uint8Array(buffer);
    let text = "";
    for (const byte of bytes) text += String.fromCharCode(byte);
    return btoa(text).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function withBuffers(descriptors) {
    return (descriptors || []).map((d) => ({...d, id: toBuffer(d.id)}));
  }

  function creationOptions(json) {
    return {
      ...json,
      challenge: toBuffer(json.challenge),
      user: {...json.user, id: toBuffer(json.user.id)},
      excludeCredentials: withBuffers(json.excludeCredentials),
    };
  }

  function requestOptions(json) {
    return {
      ...json,
      challenge: toBuffer(json.challenge),
      allowCredentials: withBuffers(json.allowCredentials),
    };
  }

  function credentialJson(credential) {
    const r = credential.response;
    const response = {clientDataJSON: toBase64url(r.clientDataJSON)};
    if (r.attestationObject) {
      response.attestationObject = toBase64url(r.attestationObject);
      response.transports = typeof r.getTransports === "function" ? r.getTransports() : [];
    } else {
      response.authenticatorData = toBase64url(r.authenticatorData);
      response.signature = toBase64url(r.signature);
      if (r.userHandle) response.userHandle = toBase64url(r.userHandle);
    }
    return {
      id: credential.id,
      rawId: toBase64url(credential.rawId),
      type: credential.type,
      authenticatorAttachment: credential.authenticatorAttachment || undefined,
      response,
      clientExtensionResults: credential.getClientExtensionResults(),
    };
  }

  async function postJson(url, body) {
    const meta = document.querySelector('meta[name="csrf-token"]');
    const response = await fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: {
        "Content-Type": "application/json",
        "Accept": "application/json",
        "X-CSRF-Token": meta ? meta.content : "",
      },
      body: JSON.stringify(body || {}),
    });
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      const message = data.error && data.error.message;
      throw new Error(message || "Carewall could not complete the passkey request.");
    }
    return data;
  }

  // One alert per page, placed above the button's form so screen readers announce it.
  function showError(button, message) {
    let box = document.getElementById("passkey-error");
    if (!box) {
      box = document.createElement("p");
      box.id = "passkey-error";
      box.className = "flash flash-error";
      box.setAttribute("role", "alert");
      const anchor = button.closest("form, .stack") || button;
      anchor.before(box);
    }
    box.textContent = message;
  }

  function explain(error) {
    if (error && error.name === "NotAllowedError") {
      return "The passkey request was cancelled or timed out. Try again when you are ready.";
    }
    if (error && error.name === "InvalidStateError") {
      return "This passkey or security key is already registered to your account.";
    }
    if (error && error.name === "SecurityError") {
      return "Passkeys are not available at this address. Ask your administrator.";
    }
    return (error && error.message) || "The passkey request failed.";
  }

  function nextPath(button) {
    const form = button.closest("form");
    const field = form && form.querySelector('input[name="next"]');
    return field ? field.value : "/";
  }

  // The server already refuses any target that is not a plain path of this site; the
  // page checks again, so a redirect can never leave the origin even if that changes.
  function sameSite(target) {
    try {
      const url = new URL(target, window.location.origin);
      return url.origin === window.location.origin ? url.pathname + url.search + url.hash : "/";
    } catch {
      return "/";
    }
  }

  function showRecoveryCodes(codes, redirect) {
    const list = document.getElementById("recovery-codes");
    list.replaceChildren(...codes.map((code) => {
      const item = document.createElement("li");
      item.textContent = code;
      return item;
    }));
    document.getElementById("passkey-continue").href = sameSite(redirect);
    document.getElementById("passkey-setup").hidden = true;
    document.getElementById("passkey-recovery").hidden = false;
    document.getElementById("passkey-recovery").querySelector("h1").focus();
  }

  async function register(button) {
    const options = await postJson("/webauthn/register/options");
    const credential = await navigator.credentials.create({publicKey: creationOptions(options)});
    const name = document.getElementById("passkey-name");
    const result = await postJson("/webauthn/register/verify", {
      credential: credentialJson(credential),
      name: name ? name.value : "",
    });
    if (result.recovery_codes && result.recovery_codes.length) {
      showRecoveryCodes(result.recovery_codes, result.redirect);
    } else {
      window.location.assign(sameSite(result.redirect));
    }
  }

  function authenticate(kind) {
    return async (button) => {
      const options = await postJson(`/webauthn/${kind}/options`);
      const credential = await navigator.credentials.get({publicKey: requestOptions(options)});
      const result = await postJson(`/webauthn/${kind}/verify`, {
        credential: credentialJson(credential),
        next: nextPath(button),
      });
      window.location.assign(sameSite(result.redirect));
    };
  }

  function wire(id, action) {
    const button = document.getElementById(id);
    if (!button) return;
    button.hidden = false;
    button.addEventListener("click", async () => {
      button.disabled = true;
      try {
        await action(button);
      } catch (error) {
        showError(button, explain(error));
      } finally {
        button.disabled = false;
      }
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    if (!window.PublicKeyCredential || !navigator.credentials) return;
    const form = document.getElementById("passkey-register-form");
    if (form) {
      form.hidden = false;
      document.getElementById("passkey-unsupported").hidden = true;
    }
    wire("passkey-register", register);
    wire("passkey-second-factor", authenticate("mfa"));
    wire("passkey-reauth", authenticate("stepup"));
    wire("passkey-login", authenticate("login"));
  });
})();
