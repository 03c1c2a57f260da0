package in

// WithoutSkip writes every layer's files in full, as a strict layer by
// layer extraction does.
func WithoutSkip() Option { return func(o *options) { o.noSkip = true } }

// WithSpoolsFirst applies each layer only once the tar streams that may be
// on disk with it are complete, so that the later layers are known.
func WithSpoolsFirst() Option { return func(o *options) { o.spoolsFirst = true } }

// SpoolsAhead is how many layers' tar streams may be on disk at once.
const SpoolsAhead = spoolsAhead
