/* The report form's village list shows only the villages of the township chosen.
   Optional: without this file the list is grouped by township (<optgroup>) and the server
   refuses a village of another township at the village field. No inline script anywhere
   (Content-Security-Policy: script-src 'self'). */
(function () {
  "use strict";
  var selects = document.querySelectorAll("select[data-depends-on]");
  Array.prototype.forEach.call(selects, function (select) {
    var parent = document.getElementById(select.getAttribute("data-depends-on"));
    if (!parent) {
      return;
    }
    var groups = Array.prototype.slice.call(select.querySelectorAll("optgroup"));
    function show() {
      var chosen = parent.value;
      var current = select.value;
      var kept = false;
      groups.forEach(function (group) {
        if (group.parentNode) {
          group.parentNode.removeChild(group);
        }
      });
      groups.forEach(function (group) {
        if (!chosen || group.getAttribute("data-group") === chosen) {
          select.appendChild(group);
          Array.prototype.forEach.call(group.querySelectorAll("option"), function (option) {
            if (option.value === current) {
              kept = true;
            }
          });
        }
      });
      select.value = kept ? current : "";
    }
    parent.addEventListener("change", show);
    show();
  });
})();
