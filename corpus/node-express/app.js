// Express application: an in-memory todo list with a JSON API and a static page.
const express = require('express');
const morgan = require('morgan');
const path = require('path');

function createApp({ log = true } = {}) {
  const app = express();
  const todos = [];
  let nextId = 1;

  if (log) app.use(morgan('tiny'));
  app.use(express.json());
  app.use(express.static(path.join(__dirname, 'public')));

  app.get('/api/health', (req, res) => res.json({ status: 'ok' }));

  app.get('/api/todos', (req, res) => res.json(todos));

  app.post('/api/todos', (req, res) => {
    const title = (req.body && req.body.title || '').trim();
    if (!title) return res.status(400).json({ error: 'title is required' });
    const todo = { id: nextId++, title, done: false };
    todos.push(todo);
    res.status(201).json(todo);
  });

  app.patch('/api/todos/:id', (req, res) => {
    const todo = todos.find((t) => t.id === Number(req.params.id));
    if (!todo) return res.status(404).json({ error: 'not found' });
    if (typeof req.body.done === 'boolean') todo.done = req.body.done;
    res.json(todo);
  });

  return app;
}

module.exports = { createApp };
