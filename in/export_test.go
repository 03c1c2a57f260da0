package in

// WithoutSkip writes every layer's files in full, as a strict layer by
// layer extraction does.
func WithoutSkip() Option { return func(o *options) { o.noSkip = true } }

// WithSpoolsFirst applies each layer only once the tar streams that may be
// on disk with it are complete, so that the later layers are known.
func WithSpoolsFirst() Option { return func(o *options) { o.spoolsFirst = true } }

// SpoolsAhead is how many layers' tar streams may be on disk at once.
const SpoolsAhead = spoolsAhead

// WithEntriesInOrder applies every entry on the applier's goroutine, in
// order, with no file written beside it.
func WithEntriesInOrder() Option { return func(o *options) { o.inOrder = true } }

// WithWriteFault fails, with what fault returns, the file it names (as the
// layer names it) when a writer beside the applier writes it.
func WithWriteFault(fault func(name string) error) Option {
	return func(o *options) { o.writeFault = fault }
}

// WithoutCopyRange copies file contents through user space, as where
// copy_file_range is refused.
func WithoutCopyRange() Option { return func(o *options) { o.noCopyRange = true } }

// WithDigestCheckAfterApplyStarts checks each blob's digest only once the
// applier has read from its layer: a bad blob then always needs the rootfs
// extracted again, which WithSpoolsFirst never does.
func WithDigestCheckAfterApplyStarts() Option { return func(o *options) { o.claimFirst = true } }
