// The board refreshes its Now view every 15 s (htmx), except while someone is filling in
// a form there: a refresh would throw away what they chose.
function boardIsIdle() {
  var active = document.activeElement;
  var now = document.getElementById("now");
  return !(now && active && now.contains(active) && active.matches("input, select, textarea"));
}
// Move focus to the suggestions panel when it opens, so keyboard users land in it.
document.addEventListener("htmx:afterSwap", function (event) {
  if (event.detail.target.id === "panel") {
    var heading = document.getElementById("panel-heading");
    if (heading) heading.focus();
  }
});
