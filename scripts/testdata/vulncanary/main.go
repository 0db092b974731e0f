// Command vulncanary calls language.ParseAcceptLanguage, vulnerable in golang.org/x/text
// v0.3.7 (GO-2022-1059: a long Accept-Language header makes it run out of memory).
package main

import (
	"fmt"

	"golang.org/x/text/language"
)

func main() {
	fmt.Println(language.ParseAcceptLanguage("en-US"))
}
