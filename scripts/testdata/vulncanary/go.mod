// A scratch module that calls a known-vulnerable function (golang.org/x/text's
// language.ParseAcceptLanguage before v0.3.8, GO-2022-1059): scripts/vulncheck must find it, or the
// database it built is empty or broken. Not part of the bff module (own go.mod).
module example.com/vulncanary

go 1.26

require golang.org/x/text v0.3.7
