package education

import "errors"

// Errors callers tell apart. Validation problems come back as
// *care.ValidationError, with sentences in both languages.
var (
	// ErrNoArticle: no article in the library has this id.
	ErrNoArticle = errors.New("no such article")
	// ErrArticleExists: an article with this id is already in the library.
	ErrArticleExists = errors.New("an article with this id already exists")
	// ErrAlreadySent: the article was already sent to the patient.
	ErrAlreadySent = errors.New("article already sent to this patient")
	// ErrNoQueue: the service has no outbox to queue messages in.
	ErrNoQueue = errors.New("no outbox configured")
	// ErrLibrary: a shipped article or rule cannot be used.
	ErrLibrary = errors.New("invalid education library")
	// ErrConfig: the service's configuration is unusable.
	ErrConfig = errors.New("invalid education configuration")
)
