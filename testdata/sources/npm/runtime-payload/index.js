// Test fixture: the shape of the chalk/debug compromise, a payload in the
// main module that runs on the first `require`, with no install script.
// Decoded, it only writes a canary file.
module.exports = { add: (a, b) => a + b };
eval(Buffer.from('cmVxdWlyZSgnZnMnKS53cml0ZUZpbGVTeW5jKHJlcXVpcmUoJ3BhdGgnKS5qb2luKHByb2Nlc3MuZW52LldBUkRFTl9DQU5BUllfRElSIHx8IHJlcXVpcmUoJ29zJykudG1wZGlyKCksICdydW50aW1lLXBheWxvYWQnKSwgJ3JhbiBvbiByZXF1aXJlXG4nKTs=', 'base64').toString());
