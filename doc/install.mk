# SPDX-License-Identifier: Apache-2.0
# doc/install.mk: `make install` puts ember, ember-jailer, ember-rebase-snap and their manual
# pages where system tools live. PREFIX (default /usr/local) and DESTDIR
# (a staging root, for packagers and tests) as GNU packages take them.

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
INSTALL ?= install

.PHONY: install uninstall
install: $(O)/ember $(JAILER_BIN) $(REBASE_SNAP_BIN)
	$(call quiet,INSTALL,$(DESTDIR)$(BINDIR))$(INSTALL) -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1
	$(Q)$(INSTALL) -m 0755 $(O)/ember $(JAILER_BIN) $(REBASE_SNAP_BIN) $(DESTDIR)$(BINDIR)/
	$(Q)$(INSTALL) -m 0644 doc/ember.1 doc/ember-jailer.1 doc/ember-rebase-snap.1 \
		$(DESTDIR)$(MANDIR)/man1/

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/ember $(DESTDIR)$(BINDIR)/ember-jailer \
		$(DESTDIR)$(BINDIR)/ember-rebase-snap $(DESTDIR)$(MANDIR)/man1/ember.1 \
		$(DESTDIR)$(MANDIR)/man1/ember-jailer.1 $(DESTDIR)$(MANDIR)/man1/ember-rebase-snap.1
