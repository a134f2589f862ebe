package consent

// CheckWords exposes checkWords to the external tests.
var CheckWords = checkWords
