// 督查工作台: small progressive enhancements only; every page works without JavaScript.
document.addEventListener("change", function (e) {
  var el = e.target;
  if (el.matches && el.matches("form.filters select[data-autosubmit]")) { el.form.submit(); }
});
document.addEventListener("submit", function (e) {
  var f = e.target, b = f.querySelector("button[type=submit]");
  if (b && !f.hasAttribute("data-nolock")) { setTimeout(function () { b.disabled = true; b.textContent = "提交中…"; }, 0); }
});
