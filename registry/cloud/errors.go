package cloud

import (
	"errors"

	"github.com/aws/smithy-go"
)

// explainAWS keeps an AWS API error's code and message, which say what
// is wrong (AccessDenied, ExpiredToken), and drops the SDK's layers of
// operation and request metadata from the message, not from the chain.
func explainAWS(err error) error {
	var apiErr smithy.APIError
	if errors.As(err, &apiErr) {
		return &awsError{msg: apiErr.ErrorCode() + ": " + apiErr.ErrorMessage(), err: err}
	}
	return err
}

type awsError struct {
	msg string
	err error
}

func (e *awsError) Error() string { return e.msg }
func (e *awsError) Unwrap() error { return e.err }
