// 督查工作台: small progressive enhancements only; every page works without JavaScript.
document.addEventListener("change", function (e) {
  var el = e.target;
  if (el.matches && el.matches("form.filters select[data-autosubmit]")) { el.form.submit(); }
});
document.addEventListener("submit", function (e) {
  var f = e.target, b = f.querySelector("button[type=submit]");
  if (b && !f.hasAttribute("data-nolock")) { setTimeout(function () { b.disabled = true; b.textContent = "提交中…"; }, 0); }
});
// A form row with data-shown-when="field=value" shows only while that field has that value
// (the review form: assessment for 通过, reasons for 不通过).
function duchaShowWhen(form) {
  form.querySelectorAll("[data-shown-when]").forEach(function (row) {
    var rule = row.getAttribute("data-shown-when").split("="), el = form.querySelector('[name="' + rule[0] + '"]');
    if (el) { row.hidden = el.value !== rule[1]; }
  });
}
document.addEventListener("change", function (e) { if (e.target.form) { duchaShowWhen(e.target.form); } });
document.addEventListener("DOMContentLoaded", function () { document.querySelectorAll("form").forEach(duchaShowWhen); });
// Label each cell with its column's header, for the card layout of tables on phones.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("table.list").forEach(function (t) {
    var heads = Array.prototype.map.call(t.querySelectorAll("thead th"), function (th) { return th.textContent.trim(); });
    t.querySelectorAll("tbody tr").forEach(function (tr) {
      Array.prototype.forEach.call(tr.children, function (td, i) { if (heads[i]) { td.setAttribute("data-label", heads[i]); } });
    });
  });
});
