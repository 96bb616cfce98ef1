// Progressive enhancement: a "find on this page" box that narrows the cards shown. The page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const box = document.querySelector(".filters .find");
  const cards = Array.from(document.querySelectorAll(".people > li"));
  if (!box || cards.length === 0) {
    return;
  }
  box.hidden = false;
  const input = box.querySelector("input");
  input.addEventListener("input", () => {
    const wanted = input.value.trim().toLowerCase();
    for (const item of cards) {
      const card = item.querySelector(".card");
      item.hidden = wanted !== "" && !item.textContent.toLowerCase().includes(wanted) && !card.dataset.login.includes(wanted);
    }
  });
});
