// What the component package serves: Pulumi's run-plugin loads this file and offers every
// ComponentResource class it exports. The class is the package's own (../dist).
"use strict";
module.exports = { Fleet: require("..").Fleet };
