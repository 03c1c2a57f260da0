package in

// WithSpoolsFirst applies each layer only once the spools that may be on
// disk with it are complete.
func WithSpoolsFirst() Option { return func(o *options) { o.spoolsFirst = true } }

// WithoutStaging leaves every file's content in the layer's raw tar
// stream, for the applier to write, in order, as it applies the layer: a
// strict layer by layer extraction, which staged extraction must equal.
func WithoutStaging() Option { return func(o *options) { o.noStaging = true } }

// WithStageFault fails, with what fault returns, the file it names (as the
// layer names it) when a decoder stages it.
func WithStageFault(fault func(name string) error) Option {
	return func(o *options) { o.stageFault = fault }
}

// WithDigestCheckAfterApplyStarts checks each blob's digest only once the
// applier has read from its layer: a bad blob then always needs the rootfs
// extracted again, which WithSpoolsFirst never does.
func WithDigestCheckAfterApplyStarts() Option { return func(o *options) { o.claimFirst = true } }
