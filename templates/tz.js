// The sign-up form's time zone: the browser's own, when it names one.
// Without this script the list keeps the newsletter's zone.
(function () {
  "use strict";
  var list = document.getElementById("sub-tz");
  if (!list) { return; }
  var zone = "";
  try {
    zone = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
  } catch (e) {
    return;
  }
  if (!/^[A-Za-z0-9_+\-\/]{1,64}$/.test(zone)) { return; }
  for (var i = 0; i < list.options.length; i++) {
    if (list.options[i].value === zone) {
      list.value = zone;
      return;
    }
  }
  // A zone the list lacks (an older name, say): offer it; the server
  // checks it like any other.
  var opt = document.createElement("option");
  opt.value = zone;
  opt.textContent = zone.replace(/_/g, " ");
  list.appendChild(opt);
  list.value = zone;
})();
