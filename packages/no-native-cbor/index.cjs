// cbor-x treats a falsy export as "no native accelerator" and decodes in JavaScript.
module.exports = null;
