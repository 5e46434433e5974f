// Package engine is Heshen's domain: faces, verification flows, liveness
// logic, eligibility rules and the types every adapter speaks. It imports
// only the standard library; adapters live in sub-packages (vision, capture)
// and in store/, search/ and webui/.
package engine

import (
	"errors"
	"fmt"
)

// Error is a domain error carrying a Tencent-FaceID-style code
// (e.g. "FailedOperation.ImageDecodeFailed") so the API can return it as is,
// a finer Heshen reason (e.g. "FACE_TOO_SMALL"), and messages in Chinese
// (the default) and English.
type Error struct {
	Code    string // Tencent-style code, returned in Response.Error.Code or Result
	Reason  string // Heshen's own finer reason; empty when Code says it all
	Message string // Chinese
	EN      string // English
}

func (e *Error) Error() string {
	if e.Reason != "" {
		return e.Code + " (" + e.Reason + "): " + e.EN
	}
	return e.Code + ": " + e.EN
}

// Errorf builds an *Error with a formatted English message; the Chinese
// message is zh as given.
func Errorf(code, zh, format string, args ...any) *Error {
	return &Error{Code: code, Message: zh, EN: fmt.Sprintf(format, args...)}
}

// ErrorCode returns the Tencent-style code of err, or InternalError for
// foreign errors.
func ErrorCode(err error) string {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	if err == nil {
		return ""
	}
	return CodeInternal
}

// AsError returns err as *Error, wrapping foreign errors as InternalError
// without leaking their text to callers.
func AsError(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return &Error{Code: CodeInternal, Message: "内部错误", EN: "internal error"}
}

// Tencent-style codes used across the engine (reference §1 and §3).
const (
	CodeInternal              = "InternalError"
	CodeInvalidParameter      = "InvalidParameter"
	CodeInvalidParameterValue = "InvalidParameterValue"
	CodeMissingParameter      = "MissingParameter"
	CodeUnsupportedOperation  = "UnsupportedOperation"
	CodeResourceNotFound      = "ResourceNotFound"

	CodeEmptyImage        = "FailedOperation.EmptyImageError"
	CodeImageDecodeFailed = "FailedOperation.ImageDecodeFailed"
	CodeImageSizeTooLarge = "FailedOperation.ImageSizeTooLarge"
	CodeImageBlur         = "FailedOperation.ImageBlur"
	CodePoorImageQuality  = "FailedOperation.PoorImageQuality"
	CodeIncompleteFace    = "FailedOperation.IncompleteFace"
	CodeNoFaces           = "FailedOperation.LifePhotoDetectNoFaces"
	CodeSeveralFaces      = "FailedOperation.LifePhotoDetectFaces"
	CodeLifePhotoQuality  = "FailedOperation.LifePhotoPoorQuality"
	CodeLifePhotoSize     = "FailedOperation.LifePhotoSizeError"
	CodeLifePhotoFake     = "FailedOperation.LifePhotoDetectFake"
	CodeLowSimilarity     = "FailedOperation.CompareLowSimilarity"
	CodeCompareFail       = "FailedOperation.CompareFail"
	CodeDetectEngine      = "FailedOperation.DetectEngineSystemError"
)

// Quality reasons: Heshen's own codes for each quality gate.
const (
	ReasonNoFace        = "NO_FACE"
	ReasonSeveralFaces  = "SEVERAL_FACES"
	ReasonAmbiguous     = "AMBIGUOUS_FACES"
	ReasonFaceTooSmall  = "FACE_TOO_SMALL"
	ReasonBlurred       = "BLURRED"
	ReasonTooDark       = "TOO_DARK"
	ReasonTooBright     = "TOO_BRIGHT"
	ReasonCutOff        = "FACE_CUT_OFF"
	ReasonPose          = "POSE_NOT_FRONTAL"
	ReasonEmpty         = "EMPTY_IMAGE"
	ReasonTooLarge      = "IMAGE_TOO_LARGE"
	ReasonUnknownFormat = "UNKNOWN_FORMAT"
	ReasonCorrupt       = "CORRUPT_IMAGE"
	ReasonTruncated     = "TRUNCATED_IMAGE"
)
