// Entry point: `node server.js` serves on $PORT (3000); `--selftest` does one round trip and exits.
const http = require('http');
const { createApp } = require('./app');

function request(port, method, path, body) {
  return new Promise((resolve, reject) => {
    const data = body ? JSON.stringify(body) : null;
    const req = http.request(
      { host: '127.0.0.1', port, method, path, headers: data ? { 'Content-Type': 'application/json' } : {} },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode, text }));
      }
    );
    req.on('error', reject);
    if (data) req.write(data);
    req.end();
  });
}

async function selftest() {
  const server = createApp({ log: false }).listen(0, '127.0.0.1');
  await new Promise((r) => server.once('listening', r));
  const { port } = server.address();
  try {
    const created = await request(port, 'POST', '/api/todos', { title: 'write the benchmark' });
    const list = await request(port, 'GET', '/api/todos');
    console.log(`selftest: POST ${created.status}, GET ${list.status} ${list.text}`);
  } finally {
    server.close();
  }
}

if (process.argv.includes('--selftest')) {
  selftest().catch((err) => {
    console.error('selftest failed:', err);
    process.exit(1);
  });
} else {
  const port = Number(process.env.PORT || 3000);
  createApp().listen(port, () => console.log(`todo-api listening on ${port}`));
}
