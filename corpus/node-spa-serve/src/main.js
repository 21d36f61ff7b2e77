import { addItem, removeItem } from './list.js';

let items = JSON.parse(localStorage.getItem('items') || '[]');

function render() {
  const ul = document.getElementById('items');
  ul.innerHTML = '';
  for (const item of items) {
    const li = document.createElement('li');
    li.textContent = item;
    li.onclick = () => { items = removeItem(items, item); save(); };
    ul.appendChild(li);
  }
}

function save() {
  localStorage.setItem('items', JSON.stringify(items));
  render();
}

document.getElementById('add').onsubmit = (e) => {
  e.preventDefault();
  items = addItem(items, e.target.item.value);
  e.target.reset();
  save();
};

render();
