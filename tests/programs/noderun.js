// A Node program with what Node programs do to descriptors: a file read on libuv's thread
// pool, an HTTP round trip on loopback, and a child from child_process.spawn with pipes.
// Run by tests/golden/test_runtimes.py.
'use strict';
const fs = require('fs');
const http = require('http');
const { spawn } = require('child_process');

const path = process.argv[2];

fs.readFile(path, (err, data) => {
  if (err) throw err;
  const server = http.createServer((req, res) => {
    res.end(data);
  });
  server.listen(0, '127.0.0.1', () => {
    const { port } = server.address();
    http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let received = 0;
      res.on('data', (chunk) => { received += chunk.length; });
      res.on('end', () => {
        server.close(() => {
          const child = spawn('echo', ['child'], { stdio: ['ignore', 'pipe', 'inherit'] });
          let said = '';
          child.stdout.on('data', (chunk) => { said += chunk; });
          child.on('close', (code) => {
            process.stdout.write(`received ${received} bytes; the child said ${said}`);
            process.exitCode = code;
          });
        });
      });
    });
  });
});
