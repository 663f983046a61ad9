// Package config reads a fail2ban configuration tree (for example
// /etc/fail2ban) and gives it the meaning fail2ban 1.0.2 gives it.
//
// The reader reproduces fail2ban's layering: Python ConfigParser syntax
// (case-insensitive option names, [DEFAULT] inheritance, indented
// continuation lines, "#"/";" comments, inline " ;" comments, %% escapes),
// the NAME.conf, NAME.d/*.conf, NAME.local, NAME.d/*.local load order,
// [INCLUDES] before/after with each include followed by its .local,
// %(opt)s interpolation including %(section/opt)s, %(default/opt)s,
// %(known/opt)s and %(__name__)s, and the recursive <tag> substitution that
// fail2ban applies to filter and action definitions. Runtime tags such as
// <HOST>, <ip> or <F-USER> are left in place for the matcher.
//
// LoadDir and Load return a Config whose Jails are the enabled jails that
// resolved; a jail that cannot be resolved (missing filter or action file,
// failed interpolation, bad option syntax) is reported in Config.Broken and
// never stops the others.
package config
