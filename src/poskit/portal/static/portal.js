// poskit portal: small progressive enhancements (everything works without them, except drawing a signature).
(function () {
  "use strict";

  function csrfToken() {
    var meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.getAttribute("content") : "";
  }

  // <form data-confirm="..."> asks before submitting (revoking tokens, disabling operators ...).
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);

  // <select data-autosubmit> submits its form when changed.
  document.addEventListener("change", function (event) {
    var el = event.target;
    if (el.hasAttribute && el.hasAttribute("data-autosubmit") && el.form) {
      el.form.submit();
    }
  });

  // <button data-copy="#id"> copies the text of the element.
  document.addEventListener("click", function (event) {
    var button = event.target.closest && event.target.closest("[data-copy]");
    if (!button) return;
    var source = document.querySelector(button.getAttribute("data-copy"));
    if (source && navigator.clipboard) {
      navigator.clipboard.writeText(source.textContent.trim()).then(function () {
        button.textContent = "✓";
      });
    }
  });

  // The signature pad (补签): draw with mouse, pen or finger; saved as a PNG data URL.
  function setUpSignaturePad() {
    var canvas = document.getElementById("signpad");
    var form = document.getElementById("sign-form");
    if (!canvas || !form) return;
    var ctx = canvas.getContext("2d");
    var save = document.getElementById("signpad-save");
    var clear = document.getElementById("signpad-clear");
    var error = document.getElementById("signpad-error");
    var drawing = false;
    var strokes = 0;
    var last = null;

    function reset() {
      ctx.fillStyle = "#fff";
      ctx.fillRect(0, 0, canvas.width, canvas.height);
      ctx.lineWidth = 3;
      ctx.lineCap = "round";
      ctx.lineJoin = "round";
      ctx.strokeStyle = "#000";
      strokes = 0;
      save.disabled = true;
    }

    function point(event) {
      var rect = canvas.getBoundingClientRect();
      return {
        x: (event.clientX - rect.left) * canvas.width / rect.width,
        y: (event.clientY - rect.top) * canvas.height / rect.height,
      };
    }

    canvas.addEventListener("pointerdown", function (event) {
      drawing = true;
      last = point(event);
      canvas.setPointerCapture(event.pointerId);
      event.preventDefault();
    });
    canvas.addEventListener("pointermove", function (event) {
      if (!drawing) return;
      var p = point(event);
      ctx.beginPath();
      ctx.moveTo(last.x, last.y);
      ctx.lineTo(p.x, p.y);
      ctx.stroke();
      last = p;
      strokes += 1;
      if (strokes > 5) save.disabled = false;
      event.preventDefault();
    });
    ["pointerup", "pointercancel", "pointerleave"].forEach(function (name) {
      canvas.addEventListener(name, function () { drawing = false; });
    });
    clear.addEventListener("click", reset);
    form.addEventListener("submit", function (event) {
      if (strokes <= 5) {
        event.preventDefault();
        error.hidden = false;
        return;
      }
      document.getElementById("signature-data").value = canvas.toDataURL("image/png");
    });
    reset();
  }

  document.addEventListener("DOMContentLoaded", setUpSignaturePad);
  window.poskitCsrfToken = csrfToken;
})();
