// Shows each <time data-local-time> in the viewer's own time zone and language. Without this script
// the page shows the same instant in UTC, which is right, only less convenient.
for (const element of document.querySelectorAll('time[data-local-time]')) {
  const at = new Date(element.dateTime)
  if (!Number.isNaN(at.getTime())) element.textContent = at.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' })
}
