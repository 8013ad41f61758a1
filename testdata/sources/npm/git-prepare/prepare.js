// Test fixture: a git dependency whose `prepare` (which npm runs for git
// sources) decodes and runs hidden code. Decoded, it only writes a canary.
eval(Buffer.from('cmVxdWlyZSgnZnMnKS53cml0ZUZpbGVTeW5jKHJlcXVpcmUoJ3BhdGgnKS5qb2luKHByb2Nlc3MuZW52LldBUkRFTl9DQU5BUllfRElSIHx8ICcuJywgJ2dpdC1wcmVwYXJlJyksICdwcmVwYXJlIHJhblxuJyk7', 'base64').toString());
